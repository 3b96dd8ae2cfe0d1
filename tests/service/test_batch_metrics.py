"""A batch's decision times observed at once give the histogram one ``observe`` per time gives."""

from __future__ import annotations

import random

from iamgate.service.metrics import _DECISION_BUCKETS, ServiceMetrics


def _histogram(metrics: ServiceMetrics) -> dict[str, float]:
    samples = {}
    for family in metrics.registry.collect():
        if family.name == "iamgate_decision_seconds":
            for sample in family.samples:
                if not sample.name.endswith("_created"):
                    samples[f"{sample.name}{sorted(sample.labels.items())}"] = sample.value
    return samples


def test_a_batch_of_times_fills_the_buckets_and_sum_as_one_observe_per_time():
    rng = random.Random(3)
    for _ in range(50):
        seconds = [rng.choice(_DECISION_BUCKETS) for _ in range(rng.randint(0, 5))]  # on a bound
        seconds += [rng.uniform(0, 0.002) for _ in range(rng.randint(0, 100))]
        seconds += [rng.uniform(0, 3) for _ in range(rng.randint(0, 3))]  # past the last bound
        rng.shuffle(seconds)
        at_once, one_by_one = ServiceMetrics(), ServiceMetrics()
        at_once.observe_decisions(seconds)
        for value in seconds:
            one_by_one.decision_seconds.observe(value)
        expected = _histogram(one_by_one)
        got = _histogram(at_once)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            assert abs(got[name] - value) < 1e-9, name


def test_equal_times_observed_at_once_fill_the_buckets_and_sum_as_one_observe_each():
    rng = random.Random(5)
    values = [*_DECISION_BUCKETS, 0.0, 2.5, *(rng.uniform(0, 0.01) for _ in range(30))]
    for value in values:
        count = rng.randint(0, 120)
        at_once, one_by_one = ServiceMetrics(), ServiceMetrics()
        at_once.observe_equal_decisions(value, count)
        for _ in range(count):
            one_by_one.decision_seconds.observe(value)
        expected = _histogram(one_by_one)
        got = _histogram(at_once)
        assert got.keys() == expected.keys()
        for name, total in expected.items():
            assert abs(got[name] - total) < 1e-9, (value, name)
