"""Measure one bundle size in a fresh process: compile time, peak RSS, decision latencies.

``bench/run.py`` writes the generated organization to a file and starts this module's ``main`` in
a new interpreter, so the peak RSS it reports belongs to loading and compiling that one bundle and
nothing else (``bench.memory`` says why that is ``VmHWM`` rather than ``ru_maxrss``). Before
anything is timed, the answers are checked: the decision cache against fresh evaluations on
every sampled request, and the naive evaluator against the indexed one on every request it is
timed on. A mismatch makes the worker fail: a bench that measures a wrong answer is worthless.
"""

from __future__ import annotations

import collections
import gc
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.generator import Organization
from bench.memory import peak_rss_mb
from bench.naive import naive_evaluate, same_answer, supports
from bench.timing import Series, measure, timer_overhead_ns
from bench.workload import Case, Workload, build_workload
from iamgate.engine import evaluate


@dataclass(frozen=True, slots=True)
class SizeSettings:
    rounds: int
    naive_cases: int
    """How many of the heavy principal's requests the naive evaluator is timed (and checked) on."""


class WrongAnswerError(AssertionError):
    """Two evaluators that must agree did not; the figures would be meaningless."""


def _decisions(cases: tuple[Case, ...]) -> dict[str, int]:
    return dict(collections.Counter(evaluate(c.policy_set, c.request).decision.value for c in cases))


def _answers(cases: tuple[Case, ...]) -> list[str]:
    """Each request's decision, for the bundle worker to check the bundle path against."""
    return [evaluate(c.policy_set, c.request).decision.value for c in cases]


def _check_cache(cache: Any, cases: tuple[Case, ...], label: str) -> None:
    """Twice through the cache (a miss, then a hit) must give what a fresh evaluation gives."""
    for _ in range(2):
        for case in cases:
            fresh = evaluate(case.policy_set, case.request)
            cached = cache.evaluate(case.scope, case.policy_set, case.request)
            if fresh != cached:
                raise WrongAnswerError(
                    f"{label}: cached answer {cached} differs from fresh {fresh} for "
                    f"{case.request.action} on {case.request.resource}"
                )


def _check_naive(cases: list[Case]) -> None:
    for case in cases:
        indexed = evaluate(case.policy_set, case.request)
        naive = naive_evaluate(case.policy_set, case.request)
        if not same_answer(indexed, naive):
            raise WrongAnswerError(
                f"naive and indexed evaluators disagree on {case.request.action} on "
                f"{case.request.resource}: indexed {indexed}, naive {naive}"
            )


def _new_cache() -> Any:
    from iamgate.engine.cache import DecisionCache

    return DecisionCache(maxsize=100_000)


def _cache_available() -> bool:
    try:
        _new_cache()
    except ImportError:
        return False
    return True


def measure_workload(workload: Workload, settings: SizeSettings) -> dict[str, Any]:
    """Every latency figure for one compiled workload (the caller has measured compile and RSS)."""
    typical, heavy = workload.typical, workload.heavy
    naive_cases = [c for c in heavy if supports(c.policy_set, c.request)][: settings.naive_cases]
    _check_naive(naive_cases)
    has_cache = _cache_available()
    cache_stats: dict[str, Any] = {}
    series: dict[str, Series] = {
        "uncached": Series(evaluate, [(c.policy_set, c.request) for c in typical]),
        "heavy_uncached": Series(evaluate, [(c.policy_set, c.request) for c in heavy]),
    }
    if has_cache:
        typical_cache, heavy_cache = _new_cache(), _new_cache()
        _check_cache(_new_cache(), typical, "typical principals")
        _check_cache(_new_cache(), heavy, "heavy principal")
        series["cached"] = Series(
            typical_cache.evaluate, [(c.scope, c.policy_set, c.request) for c in typical]
        )
        series["heavy_cached"] = Series(
            heavy_cache.evaluate, [(c.scope, c.policy_set, c.request) for c in heavy]
        )
    overhead = timer_overhead_ns()
    latency = measure(series, rounds=settings.rounds, overhead=overhead)
    if has_cache:
        for name, cache in (("typical", typical_cache), ("heavy", heavy_cache)):
            cache_stats[name] = {
                "entries": cache.size,
                "hits": cache.hits,
                "misses": cache.misses,
                "uncacheable": getattr(cache, "uncacheable", 0),
            }
    versus = measure(
        {
            "index": Series(evaluate, [(c.policy_set, c.request) for c in naive_cases]),
            "naive": Series(naive_evaluate, [(c.policy_set, c.request) for c in naive_cases]),
        },
        rounds=max(3, settings.rounds // 2),
        overhead=overhead,
    )
    return {
        "latency": {name: asdict(value) for name, value in latency.items()},
        "versus_naive": {name: asdict(value) for name, value in versus.items()},
        "naive_checked": len(naive_cases),
        "cache": cache_stats,
        "cache_available": has_cache,
        "decisions": {"typical": _decisions(typical), "heavy": _decisions(heavy)},
        "answers": {"typical": _answers(typical), "heavy": _answers(heavy)},
        "timer_overhead_ns": overhead,
    }


def run(org_path: Path, settings: SizeSettings) -> dict[str, Any]:
    rss_start = peak_rss_mb()
    organization = Organization.from_json(org_path.read_text())
    rss_read = peak_rss_mb()
    started = time.perf_counter()
    workload = build_workload(organization)
    load_seconds = time.perf_counter() - started
    rss_compiled = peak_rss_mb()
    # The compiled bundle lives as long as the process: keep the collector from rescanning it.
    gc.collect()
    gc.freeze()
    result = {
        "size": organization.size,
        "statements": organization.statement_count,
        "policies": len(organization.policies),
        "principals": len(organization.principals),
        "accounts": len(organization.accounts),
        "resource_policies": len(organization.resource_policies),
        "heavy_statements": workload.heavy_statements,
        "parse_seconds": workload.parse_seconds,
        "compile_seconds": workload.compile_seconds,
        "load_seconds": load_seconds,
        "rss_start_mb": rss_start,
        "rss_read_mb": rss_read,
        "rss_peak_mb": rss_compiled,
        "requests": {"typical": len(workload.typical), "heavy": len(workload.heavy)},
        "request_kinds": dict(collections.Counter(c.kind for c in workload.typical)),
    }
    result.update(measure_workload(workload, settings))
    return result


def main(argv: list[str]) -> int:
    org_path, rounds, naive_cases = Path(argv[0]), int(argv[1]), int(argv[2])
    try:
        result = run(org_path, SizeSettings(rounds=rounds, naive_cases=naive_cases))
    except WrongAnswerError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
