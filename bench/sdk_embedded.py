"""Embedded-mode latency: ``iamgate_client.Embedded.authorize`` on the embedded default bundle.

    .venv/bin/python bench/sdk_embedded.py [--rounds 5] [--repeat 20] [--against REV]

The questions are the default bundle's own tests (their ``now`` is dropped, as an application
cannot set the clock). Four series, interleaved round by round (``bench.timing``):

* ``embedded uncached`` - ``Embedded(cache_size=0).authorize``: the whole SDK call in-process
  (the SDK's checks and query, the bundle layer with its trust model, the engine, the reply
  read into a ``Decision``); no decision cache and no answer memo;
* ``embedded cached`` - the same with the default decision cache and answer memo, every
  question asked before;
* ``snapshot.authorize`` uncached / cached - the bundle layer alone, for what the SDK adds.

``--against REV`` adds the same two embedded series for ``client/iamgate_client/_embedded.py``
as it was at git revision REV (loaded beside the current one), measured in the same rounds, so
a change to the SDK's layer is compared side by side on the same machine state.

Answers are checked first: each question's decision must be the same from every Embedded and
from the snapshot. Prints a table; nothing is written.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.timing import Series, measure

ROOT = Path(__file__).resolve().parent.parent


def embedded_at(revision: str) -> Any:
    """The ``Embedded`` class of ``_embedded.py`` at git ``revision``, imported under another name."""
    text = subprocess.run(
        ["git", "show", f"{revision}:client/iamgate_client/_embedded.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as file:
        file.write(text)
    spec = importlib.util.spec_from_file_location("iamgate_client._embedded_then", file.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Embedded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20, help="each round asks every question this often")
    parser.add_argument("--against", metavar="REV", help="also time _embedded.py as of this git revision")
    args = parser.parse_args(argv)

    import iamgate_client as sdk
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.bundle.query import AccessQuery

    embedded = {"embedded uncached": sdk.Embedded(cache_size=0), "embedded cached": sdk.Embedded()}
    if args.against:
        then = embedded_at(args.against)
        embedded[f"embedded uncached @{args.against}"] = then(cache_size=0)
        embedded[f"embedded cached @{args.against}"] = then()
    snapshot_uncached = load_default_snapshot(cache_size=0)
    snapshot_cached = load_default_snapshot()
    tests = snapshot_uncached.tests
    questions = []
    for test in tests:
        context = {c.name: list(c.values) if c.multi else c.values[0] for c in test.context}
        questions.append((test.principal, test.action, test.resource, context or None))
    queries = [(AccessQuery(t.principal, t.action, t.resource, t.context, t.session_policy),) for t in tests]
    for question, (query,) in zip(questions, queries, strict=True):
        expected = snapshot_uncached.authorize(query).evaluation.decision.value
        for name, client in embedded.items():
            got = client.authorize(*question)
            if got.fail_closed:
                raise SystemExit(f"{name} failed to decide {question}: {got.message}")
            if got.outcome.value != expected:
                raise SystemExit(f"{name} and the snapshot disagree on {question}: {got.outcome}, {expected}")
    gc.collect()
    gc.freeze()
    series = {name: Series(client.authorize, questions * args.repeat) for name, client in embedded.items()}
    series["snapshot.authorize uncached"] = Series(snapshot_uncached.authorize, queries * args.repeat)
    series["snapshot.authorize cached"] = Series(snapshot_cached.authorize, queries * args.repeat)
    results = measure(series, rounds=args.rounds)
    plain = sum(1 for q in questions if q[3] is None)
    print(
        f"{len(questions)} questions ({plain} without context) x {args.repeat}, {args.rounds} rounds "
        "(medians of per-round figures)"
    )
    print(f"{'series':<40} {'p50 us':>8} {'p99 us':>8}")
    for name, latency in results.items():
        print(f"{name:<40} {latency.p50_us:>8.1f} {latency.p99_us:>8.1f}")
    for client in embedded.values():
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
