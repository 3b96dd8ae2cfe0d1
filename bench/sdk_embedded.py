"""Embedded-mode latency: ``iamgate_client.Embedded.authorize`` on the embedded default bundle.

    .venv/bin/python bench/sdk_embedded.py [--rounds 5] [--repeat 20]

The questions are the default bundle's own tests (41 questions; their ``now`` is dropped, as an
application cannot set the clock). Four series, interleaved round by round (``bench.timing``):

* ``embedded uncached`` - ``Embedded(cache_size=0).authorize``: the whole SDK call in-process
  (request message, the sidecar's servicer with its limits, trust model and metrics, the engine,
  the reply read back into a ``Decision``);
* ``embedded cached`` - the same with the default decision cache, every question asked before;
* ``snapshot.authorize`` uncached / cached - the bundle layer alone, for what the SDK and
  servicer add around it.

Answers are checked first: each question's decision must be the same from Embedded and from the
snapshot. Prints a table; nothing is written.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import Series, measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20, help="each round asks every question this often")
    args = parser.parse_args(argv)

    import iamgate_client as sdk
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.bundle.query import AccessQuery

    uncached = sdk.Embedded(cache_size=0)
    cached = sdk.Embedded()
    snapshot_uncached = load_default_snapshot(cache_size=0)
    snapshot_cached = load_default_snapshot()
    tests = snapshot_uncached.tests
    questions = []
    for test in tests:
        context = {c.name: list(c.values) if c.multi else c.values[0] for c in test.context}
        questions.append((test.principal, test.action, test.resource, context or None))
    queries = [(AccessQuery(t.principal, t.action, t.resource, t.context, t.session_policy),) for t in tests]
    for question, (query,) in zip(questions, queries, strict=True):
        got = uncached.authorize(*question)
        if got.fail_closed:
            raise SystemExit(f"embedded failed to decide {question}: {got.message}")
        expected = snapshot_uncached.authorize(query).evaluation.decision.value
        if got.outcome.value != expected:
            raise SystemExit(f"embedded and the snapshot disagree on {question}: {got.outcome} vs {expected}")
    gc.collect()
    gc.freeze()
    series = {
        "embedded uncached": Series(uncached.authorize, questions * args.repeat),
        "embedded cached": Series(cached.authorize, questions * args.repeat),
        "snapshot.authorize uncached": Series(snapshot_uncached.authorize, queries * args.repeat),
        "snapshot.authorize cached": Series(snapshot_cached.authorize, queries * args.repeat),
    }
    results = measure(series, rounds=args.rounds)
    print(f"{len(questions)} questions x {args.repeat}, {args.rounds} rounds (medians of per-round figures)")
    print(f"{'series':<30} {'p50 us':>8} {'p99 us':>8}")
    for name, latency in results.items():
        print(f"{name:<30} {latency.p50_us:>8.1f} {latency.p99_us:>8.1f}")
    uncached.close()
    cached.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
