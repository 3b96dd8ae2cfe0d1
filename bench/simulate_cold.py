"""The cold path of ``iamgate simulate`` on the JavaScript bench's requests, and its invariants.

    .venv/bin/python bench/simulate_cold.py time [--count 600] [--rounds 3]
    .venv/bin/python bench/simulate_cold.py answers [--count 2000]
    .venv/bin/python bench/simulate_cold.py corpus

Run each under an older tree too (``PYTHONPATH=<old checkout>/server``) and compare:

- ``time``: CPU µs per decision of the bench's requests answered one at a time with nothing
  remembered (``simulate_vs_js._forget`` before each), in process, without Node.js: the "cold" row
  of ``make bench-js`` without its JavaScript side (needs ``make bench-js``'s npm install, which
  also draws the requests);
- ``answers``: a hash of the JSON answers to those requests as a file (``simulate_many``), one at a
  time, one at a time cold, and (150 of them) with ``--explain``: equal hashes, equal answers;
- ``corpus``: a hash of what ``parse_policy`` makes of every version of every AWS managed policy
  (as text and as a decoded object; parser memos off, on, and on again): the statements, the
  warnings, or the problems of a refused one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import simulate_vs_js as js_bench

from iamgate.engine.simulate import simulate, simulate_many
from iamgate.policy import PolicyParseError, parse_policy


def requests(count: int, seed: int = 1) -> list[dict]:
    """The bench's requests, drawn by ``bench/js/simulate.mjs`` as ``make bench-js`` draws them."""
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch, "spec.json")
        spec.write_text(
            json.dumps(
                {
                    "seed": seed,
                    "count": count,
                    "sets": js_bench.policy_sets(),
                    "services": js_bench.SERVICES,
                    "caller": js_bench.CALLER,
                }
            )
        )
        drawn = js_bench._node("generate", str(spec))
    return [json.loads(line) for line in drawn.splitlines() if line.strip()]


def cold_time(items: list[dict], rounds: int) -> list[float]:
    def run() -> None:
        for item in items:
            js_bench._forget()
            simulate(item, limits=js_bench.LIMITS, share_gil=False)

    run()  # warm the process-wide memos of short patterns, as any long-lived process has them
    figures = []
    for _ in range(rounds):
        started = time.process_time()
        run()
        figures.append((time.process_time() - started) / len(items) * 1e6)
    return figures


def answers_hashes(items: list[dict]) -> dict[str, str]:
    def one(item: dict, **options) -> dict:
        try:
            return simulate(item, limits=js_bench.LIMITS, share_gil=False, **options)
        except Exception as error:  # an error is an answer to compare too
            return {"error": type(error).__name__, "message": str(error)}

    kinds = {
        "file": lambda: simulate_many(items, limits=js_bench.LIMITS),
        "one at a time": lambda: [one(item) for item in items],
        "cold": lambda: [js_bench._forget() or one(item) for item in items],
        "explain, cold": lambda: [js_bench._forget() or one(item, explain=True) for item in items[:150]],
    }
    return {
        name: hashlib.sha256(json.dumps(make(), sort_keys=True).encode()).hexdigest()[:16]
        for name, make in kinds.items()
    }


def corpus_hash() -> tuple[int, str]:
    corpus = json.loads(js_bench.CORPUS.read_text())
    digest = hashlib.sha256()
    versions = 0
    for _, entry in sorted(corpus.items()):
        for _, version in sorted(entry["versions"].items()):
            versions += 1
            document = version["document"]
            for source in (json.dumps(document), document):
                for remember in (False, True, True):
                    try:
                        parsed = parse_policy(source, remember=remember)
                        out = repr((parsed.version, parsed.id, parsed.statements, parsed.warnings))
                    except PolicyParseError as error:
                        out = "refused " + repr(error.problems)
                    digest.update(out.encode())
    return versions, digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/simulate_cold.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("time", "answers", "corpus"))
    parser.add_argument("--count", type=int, default=None, help="requests (600 to time, 2000 for answers)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if not js_bench.CORPUS.exists():
        print("needs `make bench-js` (npm install in bench/js)", file=sys.stderr)
        return 2
    if args.what == "corpus":
        versions, digest = corpus_hash()
        print(f"{versions} managed-policy versions: {digest}")
    elif args.what == "answers":
        items = requests(args.count or 2000)
        for name, digest in answers_hashes(items).items():
            print(f"{name}: {digest}")
    else:
        figures = cold_time(requests(args.count or 600), args.rounds)
        print(
            f"cold, CPU µs per decision: {', '.join(f'{f:,.1f}' for f in figures)} "
            f"(median {statistics.median(figures):,.1f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
