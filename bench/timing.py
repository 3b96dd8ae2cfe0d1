"""Per-decision latency: each call timed on its own with ``perf_counter_ns``, over several rounds.

A round times every case once (after one untimed warm-up pass) and yields that round's p50 and
p99; the figures reported are the medians over rounds, which keeps one noisy round from moving
them. Series compared with each other (index against naive, iamgate against cedarpy, cached
against uncached) are interleaved round by round, so they see the same machine state and their
ratios are measured side by side.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Call = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Latency:
    """Medians over rounds of each round's percentiles, in microseconds."""

    p50_us: float
    p99_us: float
    mean_us: float
    calls: int
    """Calls timed per round."""
    rounds: int


@dataclass(frozen=True, slots=True)
class Series:
    """One thing to time: a function and the argument tuples it is called with, one per decision."""

    call: Call
    args: Sequence[tuple[Any, ...]]


def timer_overhead_ns(samples: int = 20_000) -> int:
    """What two back-to-back ``perf_counter_ns`` calls cost; subtracted from every sample."""
    clock = time.perf_counter_ns
    costs = []
    for _ in range(samples):
        start = clock()
        costs.append(clock() - start)
    return int(statistics.median(costs))


def _percentile(ordered: Sequence[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _round(series: Series, overhead: int) -> tuple[int, int, float]:
    clock = time.perf_counter_ns
    call = series.call
    samples = []
    append = samples.append
    for args in series.args:
        start = clock()
        call(*args)
        append(clock() - start)
    samples.sort()
    p50 = max(0, _percentile(samples, 0.50) - overhead)
    p99 = max(0, _percentile(samples, 0.99) - overhead)
    mean = max(0.0, statistics.fmean(samples) - overhead)
    return p50, p99, mean


def measure(series: Mapping[str, Series], *, rounds: int, overhead: int | None = None) -> dict[str, Latency]:
    """Time each series ``rounds`` times, interleaved, after one warm-up pass of each."""
    overhead = timer_overhead_ns() if overhead is None else overhead
    for one in series.values():
        for args in one.args:
            one.call(*args)
    results: dict[str, list[tuple[int, int, float]]] = {name: [] for name in series}
    names = list(series)
    for number in range(rounds):
        # Rotate the order so no series always runs right after another's garbage.
        for name in names[number % len(names) :] + names[: number % len(names)]:
            results[name].append(_round(series[name], overhead))
    return {
        name: Latency(
            p50_us=statistics.median(r[0] for r in runs) / 1_000,
            p99_us=statistics.median(r[1] for r in runs) / 1_000,
            mean_us=statistics.median(r[2] for r in runs) / 1_000,
            calls=len(series[name].args),
            rounds=rounds,
        )
        for name, runs in results.items()
    }
