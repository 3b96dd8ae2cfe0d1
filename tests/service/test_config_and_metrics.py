"""Secure defaults, address checks, and metrics on a registry of their own."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from iamgate.service import ConfigError, ServiceConfig, ServiceMetrics, StaticSnapshots

from .fakes import FakeSnapshot


def test_defaults_listen_on_loopback_with_admin_and_decision_logs_off():
    config = ServiceConfig()
    assert (config.address, config.metrics_address) == ("127.0.0.1:50051", "127.0.0.1:9464")
    assert not config.enable_admin and config.decision_log is None


@pytest.mark.parametrize("address", ["unix:/run/iamgate.sock", "0.0.0.0:50051", "[::1]:50051", "localhost:0"])
def test_accepted_addresses(address):
    assert ServiceConfig(address=address).address == address


@pytest.mark.parametrize("address", ["50051", "127.0.0.1", "::1:50051", "host:port", "unix:", "h:70000"])
def test_a_bad_address_names_the_setting(address):
    with pytest.raises(ConfigError) as raised:
        ServiceConfig(address=address)
    assert raised.value.setting == "address"


def test_sensitive_keys_are_compared_case_insensitively():
    assert ServiceConfig(sensitive_context_keys=frozenset({"X-Token"})).sensitive_context_keys == {"x-token"}


def test_metrics_never_use_the_global_registry():
    before = set(REGISTRY._names_to_collectors)
    metrics = ServiceMetrics()
    assert metrics.registry is not REGISTRY
    assert set(REGISTRY._names_to_collectors) == before


def test_two_metric_sets_live_side_by_side():
    ServiceMetrics()
    ServiceMetrics()  # a second one would clash on a shared registry


def test_the_active_bundle_is_exported_at_scrape_time():
    holder = StaticSnapshots(None)
    metrics = ServiceMetrics()
    metrics.watch_bundles(holder.current)
    assert metrics.registry.get_sample_value("iamgate_bundle_active") == 0
    holder.activate(FakeSnapshot(revision="rev-42"))
    sample = metrics.registry.get_sample_value
    assert sample("iamgate_bundle_info", {"name": "fake", "revision": "rev-42", "source": "memory:fake"}) == 1
    assert sample("iamgate_bundle_statements") == 2


def test_dropped_decision_logs_are_counted_by_reason():
    metrics = ServiceMetrics()
    metrics.count_dropped_log("queue_full", 3)
    assert (
        metrics.registry.get_sample_value("iamgate_decision_logs_dropped_total", {"reason": "queue_full"})
        == 3
    )


def test_the_service_package_exports_exactly_its_public_names():
    import iamgate.service as service

    public = {
        name
        for name in dir(service)
        if not name.startswith("_") and not isinstance(getattr(service, name), type(service))  # submodules
    }
    assert public == set(service.__all__)
