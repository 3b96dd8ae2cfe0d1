"""Bundle tests at activation follow the sidecar's trust model, so they prove what serving answers."""

from __future__ import annotations

import pytest

from iamgate.bundle.activation import ActivationError, BundleManager, Step
from iamgate.bundle.loader import load_files
from iamgate.bundle.trust import TrustedKeys

ASSERTING_TEST = {
    "tests/asserting.json": {
        "tests": [
            {
                "name": "alice reads as a data team member",
                "principal": "alice",
                "action": "s3:GetObject",
                "resource": "arn:aws:s3:::x/y",
                "context": {"aws:PrincipalTag/team": "data"},
                "expected": "allowed",
            }
        ]
    }
}


def test_a_bundle_test_asserting_an_owned_key_fails_activation(make_bundle):
    path = make_bundle(ASSERTING_TEST)
    with pytest.raises(ActivationError) as failed:
        BundleManager().activate_files(load_files(path))
    assert failed.value.step is Step.TEST
    assert "an error" in str(failed.value)


def test_a_bundle_test_asserting_a_trusted_key_passes_activation(make_bundle):
    path = make_bundle(ASSERTING_TEST)
    manager = BundleManager(trusted_keys=TrustedKeys.of(["aws:PrincipalTag/*"]))
    snapshot = manager.activate_files(load_files(path))
    assert snapshot.trusted_keys.names == ("aws:PrincipalTag/*",)
    assert manager.status().trusted_context_keys == ("aws:PrincipalTag/*",)
