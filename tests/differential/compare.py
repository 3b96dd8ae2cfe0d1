"""Differential testing: iamgate against the independent evaluator the conformance cases came from.

Generates requests by mutating the conformance cases (``generate.py``), answers each with
iamgate's ``simulate`` (in-process) and with @cloud-copilot/iam-simulate (``oracle.mjs``, strict
mode, called as the conformance cases were), and prints the agreement and a sample of each kind of
disagreement. Run it with ``make difftest`` (which installs the oracle with npm here); it is a
development tool, not part of ``make test``: the oracle departs from AWS's documentation in known
places (see README.md), so a disagreement is a place to look, not a failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
from pathlib import Path

from iamgate.engine.simulate import SimulationInputError, simulate

HERE = Path(__file__).resolve().parent


def iamgate_decision(request: dict) -> str:
    try:
        return simulate(request)["EvaluationResults"][0]["EvalDecision"]
    except SimulationInputError as error:
        return f"error: {error}"


def oracle_decisions(requests: list[dict], scratch: Path) -> list[dict]:
    scratch.write_text("".join(json.dumps(r) + "\n" for r in requests))
    completed = subprocess.run(
        ["node", str(HERE / "oracle.mjs"), str(scratch)], capture_output=True, text=True, check=True, cwd=HERE
    )
    return [json.loads(line) for line in completed.stdout.splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=2, help="examples printed per kind of disagreement")
    args = parser.parse_args(argv)
    generated = subprocess.run(
        [sys.executable, str(HERE / "generate.py"), str(args.count), str(args.seed)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    items = [json.loads(line) for line in generated.splitlines() if line.strip()]
    answers = oracle_decisions([item["request"] for item in items], HERE / ".requests.jsonl")
    tally: collections.Counter[str] = collections.Counter()
    kinds: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for item, answer in zip(items, answers, strict=True):
        if "decision" not in answer or answer.get("ignored"):
            tally["oracle could not answer"] += 1
            continue
        ours = iamgate_decision(item["request"])
        if ours == answer["decision"]:
            tally["agree"] += 1
        else:
            tally["disagree"] += 1
            kinds[(answer["decision"], ours.split(":")[0])].append(item)
    print(json.dumps(dict(tally)))
    for (theirs, ours), cases in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        print(f"\noracle {theirs}, iamgate {ours}: {len(cases)}")
        for case in cases[: args.samples]:
            print("  " + json.dumps({"tags": case.get("tags"), "request": case["request"]})[:1500])
    return 0


if __name__ == "__main__":
    sys.exit(main())
