"""Load a generated bundle in a fresh process, then time the sidecar's own per-request path on it.

Run by ``bench/run.py`` as ``python -m bench.bundle_worker BUNDLE_DIR ORGANIZATION_JSON ANSWERS_JSON
ROUNDS HEAVY_REQUESTS``; prints one JSON object. Loading (read, verify, validate, compile) is
what a sidecar pays to activate a bundle of that size, where ``bench.size_worker`` measures the
engine's share alone. ``Snapshot.authorize`` is then checked to give, on every request of the
streams, the decision the engine gave on the directly compiled organization, and timed: it
resolves the principal and assembles its ``PolicySet`` per request, which is what a deployment
pays and what engine-level figures leave out.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench.conditions import NOW
from bench.generator import Organization, RequestDef
from bench.memory import peak_rss_mb
from bench.timing import Series, measure


def main(argv: list[str]) -> int:
    from datetime import datetime

    from iamgate.bundle.errors import BundleError
    from iamgate.bundle.load import load_snapshot
    from iamgate.bundle.query import AccessQuery
    from iamgate.bundle.trust import TrustedKeys, owned_reason
    from iamgate.engine import ContextValue

    bundle_dir, org_path, answers_path = Path(argv[0]), Path(argv[1]), Path(argv[2])
    rounds, heavy_sample = int(argv[3]), int(argv[4])
    rss_start = peak_rss_mb()
    started = time.perf_counter()
    try:
        snapshot = load_snapshot(bundle_dir)
    except BundleError as error:
        print(json.dumps({"error": str(error)[:2000]}))
        return 1
    seconds = time.perf_counter() - started
    rss_peak = peak_rss_mb()

    organization = Organization.from_json(org_path.read_text())
    answers = json.loads(answers_path.read_text())
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00"))

    def query(definition: RequestDef) -> AccessQuery:
        context = tuple(ContextValue(n, v, m) for n, v, m in definition.context)
        return AccessQuery(definition.principal, definition.action, definition.resource, context)

    # The generated streams assert keys a sidecar owns (aws:PrincipalArn, the time, ...), which the
    # engine-level answers relied on: run the bundle path as a deployment trusting callers with
    # exactly those keys would (docs/security.md), so both paths see the same context.
    asserted = {
        name
        for definition in (*organization.typical_requests, *organization.heavy_requests)
        for name, _, _ in definition.context
        if owned_reason(name.lower(), name, snapshot.resource_facts(definition.resource).knowledge)
    }
    snapshot = snapshot.with_trust(TrustedKeys.of(sorted(asserted)))

    # Every typical request is checked; the heavy principal's only as far as they are timed (each
    # can cost milliseconds on this path).
    streams = {"typical": organization.typical_requests, "heavy": organization.heavy_requests[:heavy_sample]}
    answers["heavy"] = answers["heavy"][:heavy_sample]
    queries = {name: [query(d) for d in stream] for name, stream in streams.items()}
    for name, stream in streams.items():
        for definition, built, expected in zip(stream, queries[name], answers[name], strict=True):
            got = snapshot.authorize(built, now=now).evaluation.decision.value
            if got != expected:
                print(
                    json.dumps(
                        {
                            "error": (
                                f"bundle path and engine disagree ({name} stream): {definition.action} "
                                f"on {definition.resource} by {definition.principal}: bundle {got}, "
                                f"engine {expected}"
                            )
                        }
                    )
                )
                return 1
    authorize = snapshot.authorize
    latency = measure(
        {
            "authorize": Series(lambda q: authorize(q, now=now), [(q,) for q in queries["typical"]]),
            "heavy_authorize": Series(lambda q: authorize(q, now=now), [(q,) for q in queries["heavy"]]),
        },
        rounds=rounds,
    )
    counts = snapshot.counts
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_start_mb": rss_start,
                "rss_peak_mb": rss_peak,
                "principals": counts.principals,
                "policies": counts.policies,
                "statements": counts.statements,
                "checked": sum(len(q) for q in queries.values()),
                "latency": {name: asdict(value) for name, value in latency.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
