"""``--trust-context-key`` reaches the bundle layer: checked at start-up, applied, reported."""

from __future__ import annotations

import pytest

from iamgate.service.bundles import BundleSettings, BundleSetupError, ManagedBundles


@pytest.mark.parametrize("key", ["", "aws:*Tag", "no-colon", "aws:PrincipalTag/ *", "*"])
def test_a_malformed_trusted_key_stops_the_sidecar_before_it_starts(key):
    with pytest.raises(BundleSetupError, match="--trust-context-key"):
        ManagedBundles(BundleSettings(trusted_context_keys=(key,)))


def test_the_embedded_bundle_serves_with_the_trusted_keys():
    source = ManagedBundles(BundleSettings(trusted_context_keys=("aws:SourceIdentity",)))
    source.start()
    try:
        assert source.current().trusted_keys.names == ("aws:SourceIdentity",)
        assert source.status().trusted_context_keys == ("aws:SourceIdentity",)
    finally:
        source.stop()
