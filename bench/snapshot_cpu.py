"""The bundle layer's CPU per uncached decision: ``Snapshot.authorize`` with the cache off, this
tree against an older revision, side by side.

    .venv/bin/python bench/snapshot_cpu.py [REVISION] [RUNS] [--rounds N]   (default: b561037, 6 runs)

The items are what ``make bench-service`` and ``bench/batch_cpu.py`` send: the embedded bundle's
test requests without a fixed clock (``now=None``, as the servicer asks), 100 per pass in their
order, so the mix of context-free items and items with caller context is the batch's. Each run is
one process per side (the older revision's ``server/`` exported with ``git archive``),
alternating which goes first; a process checks every answer against the bundle's expectations,
then times passes with ``time.process_time`` and reports the median over rounds of µs of CPU per
call for:

* ``authorize, batch mix``: every item of the pass;
* ``authorize, context-free`` / ``authorize, with context``: the pass's items of each kind alone;
* ``AccessQuery(...)``: building the query, as ``service/convert.access_query`` does per item;
* ``authorize, new resources``: context-free calls each naming a resource not asked before (new
  route, resource facts and context layers: what new traffic pays), whose answers (evaluation,
  message, filled keys) must digest alike on both sides;
* ``bundle layer alone``: the batch mix with ``evaluate`` replaced by a lookup of the evaluation
  it gave each route (the lookup itself ~0.2 µs): everything that is not the engine.

Reported: the median over runs of each side's figure and old/new ratios, with the load average.
With the cache off nothing is remembered that decides: every call runs the engine's ``evaluate``.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100


def _per_call(call, args: list[tuple], rounds: int, repeat: int) -> float:
    """Median over ``rounds`` of CPU µs per call, each round ``repeat`` passes over ``args``."""
    for one in args:
        call(*one)
    figures = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(repeat):
            for one in args:
                call(*one)
        figures.append((time.process_time() - started) / (repeat * len(args)) * 1e6)
    return statistics.median(figures)


def child(rounds: int) -> None:
    from iamgate.bundle.default import load_default_snapshot
    from iamgate.bundle.query import AccessQuery

    snapshot = load_default_snapshot(cache_size=0)
    if snapshot.decision_cache is not None:
        raise SystemExit("expected the decision cache off")
    tests = [test for test in snapshot.tests if test.now is None]
    items = [tests[i % len(tests)] for i in range(BATCH)]
    queries = []
    for test in items:
        query = AccessQuery(
            test.principal,
            test.action,
            test.resource,
            test.context,
            test.session_policy,
            "",
            test.session_tags,
        )
        for _ in range(3):
            decision = snapshot.authorize(query).evaluation.decision
            if decision != test.expected:
                raise SystemExit(f"{test.name}: got {decision}, expected {test.expected}")
        queries.append((query,))
    plain = [q for q in queries if not q[0].context]
    with_context = [q for q in queries if q[0].context]
    fields = [
        (t.principal, t.action, t.resource, t.context, t.session_policy or None, "", t.session_tags)
        for t in items
    ]
    figures: dict[str, float | str] = {
        "authorize, batch mix": _per_call(snapshot.authorize, queries, rounds, 200),
        f"authorize, context-free ({len(plain)}/{BATCH})": _per_call(snapshot.authorize, plain, rounds, 200),
        f"authorize, with context ({len(with_context)}/{BATCH})": _per_call(
            snapshot.authorize, with_context, rounds, 1000
        ),
        "AccessQuery(...)": _per_call(AccessQuery, fields, rounds, 2000),
    }
    figures["authorize, new resources"], figures["answers"] = _new_routes(snapshot, tests, rounds)
    figures["bundle layer alone (evaluate stubbed), batch mix"] = _stubbed(snapshot, queries, rounds)
    print(json.dumps(figures))


def _stubbed(snapshot, queries: list[tuple], rounds: int) -> float:
    """``authorize`` with the engine's ``evaluate`` replaced by a lookup of the evaluation it gave
    (a dict get on a tuple: ~0.2 µs of the figure): the bundle layer's own cost. Last, as it
    patches the module."""
    from iamgate.bundle import snapshot as module

    real = module.evaluate
    given = {}

    def recording(policy_set, request, **keywords):
        evaluation = real(policy_set, request, **keywords)
        given[request.principal.arn, request.action, request.resource] = evaluation
        return evaluation

    def stub(policy_set, request, **keywords):
        return given[request.principal.arn, request.action, request.resource]

    module.evaluate = recording
    for (query,) in queries:
        snapshot.authorize(query)
    module.evaluate = stub
    return _per_call(snapshot.authorize, queries, rounds, 200)


def _new_routes(snapshot, tests, rounds: int) -> tuple[float, str]:
    """CPU µs per context-free call naming a resource not asked before (a new route, new resource
    facts and context layers each time: what a sidecar seeing new requests pays), and a digest of
    every answer, which both sides must give alike."""
    import hashlib

    from iamgate.bundle.query import AccessQuery

    plain = [t for t in tests if not (t.context or t.session_policy or t.session_tags)]
    per_round = 5000
    digest = hashlib.sha256()
    figures = []
    for number in range(rounds + 1):
        queries = []
        for i in range(per_round):
            test = plain[i % len(plain)]
            resource = test.resource if test.resource == "*" else f"{test.resource}-{number}-{i}"
            queries.append(AccessQuery(test.principal, test.action, resource))
        started = time.process_time()
        outcomes = [snapshot.authorize(query) for query in queries]
        if number:  # the first round warms up
            figures.append((time.process_time() - started) / per_round * 1e6)
        for outcome in outcomes:
            digest.update(repr((outcome.evaluation, outcome.message, outcome.filled_context)).encode())
    return statistics.median(figures), digest.hexdigest()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    revision = args[0] if args else "b561037"
    runs = int(args[1]) if len(args) > 1 else 6
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 7
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "archive", revision, "server"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        sides = {"old": f"{old}/server{os.pathsep}{ROOT}", "new": f"{ROOT / 'server'}{os.pathsep}{ROOT}"}
        results: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
        answers: dict[str, list[str]] = {}
        for run in range(runs):
            for side in sides if run % 2 == 0 else reversed(sides):
                env = {**os.environ, "PYTHONPATH": sides[side]}
                out = subprocess.run(
                    [sys.executable, __file__, "--child", "--rounds", str(rounds)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                figures = json.loads(out)
                answers.setdefault(figures.pop("answers"), []).append(side)
                for name, figure in figures.items():
                    results[side].setdefault(name, []).append(figure)
            loads.append(os.getloadavg()[0])
    print(f"Snapshot.authorize, cache off, embedded bundle: CPU µs per call, median of {runs} runs")
    if len(answers) != 1:
        raise SystemExit(f"the sides answered the new-resource stream differently: {answers}")
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f}")
    print("new-resource answers: identical on both sides (digest of evaluation, message, filled keys)")
    print(f"| figure | {revision} | this tree | old / new |")
    print("|---|---:|---:|---:|")
    for name in results["new"]:
        before, after = statistics.median(results["old"][name]), statistics.median(results["new"][name])
        print(f"| {name} | {before:.2f} | {after:.2f} | {before / after:.2f}x |")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child(int(sys.argv[sys.argv.index("--rounds") + 1]))
    else:
        main()
