"""Issue 8, item 3: a request's action is one concrete service:Action.

``ec2:Terminate*`` was compared literally against statements: it missed the Deny written for
``ec2:TerminateInstances`` and matched the Allow of ``ec2:*``, so the production instance could be
"terminated". Wildcards and whitespace in a request's action are now refused.
"""

from __future__ import annotations

import pytest

import iamgate_client as sdk

from .trust_helpers import PROD_INSTANCE, sidecar_client


@pytest.fixture(scope="module")
def embedded():
    with sidecar_client() as (client, _):
        yield client


def test_the_concrete_action_is_denied(embedded):
    decision = embedded.authorize("sarah-developer", "ec2:TerminateInstances", PROD_INSTANCE)
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY


@pytest.mark.parametrize(
    "action", ["ec2:Terminate*", "ec2:TerminateInstance?", "ec2:*", "ec2:?erminateInstances"]
)
def test_a_wildcard_action_is_refused(embedded, action):
    with pytest.raises(sdk.InvalidRequestError, match=r"action: .*wildcards are not allowed"):
        embedded.authorize("sarah-developer", action, PROD_INSTANCE)


@pytest.mark.parametrize(
    "action", ["ec2:TerminateInstances ", " ec2:TerminateInstances", "ec2: TerminateInstances"]
)
def test_an_action_with_whitespace_is_refused(embedded, action):
    with pytest.raises(sdk.InvalidRequestError, match="action: "):
        embedded.authorize("sarah-developer", action, PROD_INSTANCE)


def test_explain_refuses_a_wildcard_action_too(embedded):
    with pytest.raises(sdk.InvalidRequestError, match="action: "):
        embedded.explain("sarah-developer", "ec2:Terminate*", PROD_INSTANCE)
