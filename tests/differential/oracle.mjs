// Reads JSON-lines of SimulateCustomPolicy-shaped requests on stdin/file, prints one JSON line per request.
import { runSimulation } from '@cloud-copilot/iam-simulate'
import fs from 'fs'
import readline from 'readline'
const MAP = { Allowed: 'allowed', ExplicitlyDenied: 'explicitDeny', ImplicitlyDenied: 'implicitDeny' }
function toSim(r) {
  const ctx = {}
  for (const e of r.ContextEntries || []) {
    const vals = e.ContextKeyValues
    const list = (e.ContextKeyType || 'string').endsWith('List')
    ctx[e.ContextKeyName] = list ? vals : (vals.length === 1 ? vals[0] : vals)
  }
  let owner = r.ResourceOwner
  if (owner && owner.startsWith('arn:')) owner = owner.split(':')[4]
  const s = {
    request: { principal: r.CallerArn, action: r.ActionNames[0], resource: { resource: r.ResourceArns[0], accountId: owner }, contextVariables: ctx },
    identityPolicies: (r.PolicyInputList || []).map((p, i) => ({ name: 'identity' + i, policy: p })),
    serviceControlPolicies: (r.ServiceControlPolicyLevels || []).map((lvl, i) => ({ orgIdentifier: 'ou' + i, policies: lvl.map((p, j) => ({ name: `scp${i}_${j}`, policy: p })) })),
    resourceControlPolicies: [],
  }
  if (r.ResourcePolicy) s.resourcePolicy = r.ResourcePolicy
  if (r.PermissionsBoundaryPolicyInputList) s.permissionBoundaryPolicies = r.PermissionsBoundaryPolicyInputList.map((p, i) => ({ name: 'pb' + i, policy: p }))
  if (r.SessionPolicyList && r.SessionPolicyList.length) s.sessionPolicy = r.SessionPolicyList[0]
  return s
}
const rl = readline.createInterface({ input: process.argv[2] ? fs.createReadStream(process.argv[2]) : process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  if (!line.trim()) continue
  const r = JSON.parse(line)
  let out
  try {
    const res = await runSimulation(toSim(r), { simulationMode: 'Strict' })
    if (res.resultType === 'error') out = { error: res.errors.message || JSON.stringify(res.errors) }
    else out = { decision: MAP[res.overallResult] || res.overallResult, type: res.resultType, ignored: res.result?.ignoredContextKeys || [] }
  } catch (e) { out = { error: 'exception: ' + e.message } }
  process.stdout.write(JSON.stringify(out) + '\n')
}
