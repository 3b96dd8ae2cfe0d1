"""Request resource ``*``: what applies to it, and the hints when a resource does not fit the action.

AWS evaluates an action the service authorization reference lists without resource types
(``s3:ListAllMyBuckets``, ``ec2:DescribeInstances``) against resource ``*``, whatever resource the
request names (``simulate`` and ``Authorize`` alike): only a policy Resource matching ``*``
applies, an ARN pattern (even ``arn:aws:s3:::*``) never does, and a NotResource of ARNs leaves
``*`` outside it. For an action with resource types, iamgate matches a request for ``*``
as written, as AWS's policy simulator does: only statements whose Resource matches ``*`` apply,
so an Allow of one bucket's objects does not answer "every object" (the independent evaluator of
the conformance cases answers "some object" instead: docs/validation.md). The catalogue says when
a request's resource does not fit the action (``Catalogue.resource_hint``): in ``check``/``explain``
hints and as a ``test-resource-type`` warning on bundle tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iamgate.bundle.commands import validate_command
from iamgate.catalogue import aws_catalogue, empty_catalogue
from iamgate.engine.simulate import simulate
from tests.bundle.helpers import minimal_files, write_files

ALICE = "arn:aws:iam::111122223333:user/alice"


def _decide(action: str, resource: str, *statements: dict) -> str:
    request: dict[str, Any] = {
        "CallerArn": ALICE,
        "ActionNames": [action],
        "ResourceArns": [resource],
        "PolicyInputList": [{"Version": "2012-10-17", "Statement": list(statements)}],
    }
    return simulate(request)["EvaluationResults"][0]["EvalDecision"]


def _allow(resource: str | list[str], action: str = "s3:*", *, key: str = "Resource") -> dict:
    return {"Effect": "Allow", "Action": action, key: resource}


def _deny(resource: str | list[str], action: str = "s3:*", *, key: str = "Resource") -> dict:
    return {"Effect": "Deny", "Action": action, key: resource}


# -- actions without resource types: evaluated against '*' -----------------------------------------


def test_a_wildcard_only_action_is_granted_by_resource_star():
    assert _decide("s3:ListAllMyBuckets", "*", _allow("*")) == "allowed"


@pytest.mark.parametrize("pattern", ["arn:aws:s3:::*", "arn:aws:s3:::example-reports", "arn:*:*:*:*:*"])
def test_a_wildcard_only_action_is_never_granted_by_an_arn_pattern(pattern):
    assert _decide("s3:ListAllMyBuckets", "*", _allow(pattern)) == "implicitDeny"


def test_a_deny_of_arns_does_not_reach_a_wildcard_only_action():
    assert _decide("s3:ListAllMyBuckets", "*", _allow("*"), _deny("arn:aws:s3:::*")) == "allowed"


def test_a_not_resource_of_arns_covers_a_wildcard_only_action():
    """'*' is no ARN the NotResource lists, so an Allow (or a Deny) with NotResource applies."""
    allow = _allow(["arn:aws:s3:::secret", "arn:aws:s3:::secret/*"], key="NotResource")
    assert _decide("s3:ListAllMyBuckets", "*", allow) == "allowed"
    deny = _deny("arn:aws:s3:::secret", key="NotResource")
    assert _decide("s3:ListAllMyBuckets", "*", _allow("*"), deny) == "explicitDeny"


# -- ... whatever resource the request names ------------------------------------------------------


def test_a_wildcard_only_action_asked_on_an_arn_is_evaluated_on_star():
    """AWS authorizes s3:ListAllMyBuckets on '*': an Allow of arn:aws:s3:::* grants it on no bucket."""
    assert _decide("s3:ListAllMyBuckets", "arn:aws:s3:::foo", _allow("arn:aws:s3:::*")) == "implicitDeny"
    assert _decide("s3:ListAllMyBuckets", "arn:aws:s3:::foo", _allow("*")) == "allowed"


def test_a_deny_of_the_arn_named_does_not_reach_a_wildcard_only_action():
    deny = _deny("arn:aws:s3:::secret")
    assert _decide("s3:ListAllMyBuckets", "arn:aws:s3:::secret", _allow("*"), deny) == "allowed"


def test_the_result_names_the_resource_as_given():
    request = {
        "ActionNames": ["s3:ListAllMyBuckets"],
        "ResourceArns": ["arn:aws:s3:::foo"],
        "PolicyInputList": [{"Version": "2012-10-17", "Statement": [_allow("*")]}],
    }
    assert simulate(request)["EvaluationResults"][0]["EvalResourceName"] == "arn:aws:s3:::foo"


def test_actions_with_resource_types_and_unknown_actions_are_evaluated_on_the_arn_given():
    assert _decide("s3:GetObject", "arn:aws:s3:::data/x", _allow("arn:aws:s3:::data/*")) == "allowed"
    assert _decide("docs:List", "arn:aws:docs:::d/1", _allow("arn:aws:docs:::d/*", "docs:*")) == "allowed"


# -- actions with resource types asked on '*': matched as written ----------------------------------


def test_an_allow_of_some_objects_does_not_grant_every_object():
    assert _decide("s3:GetObject", "*", _allow("arn:aws:s3:::example-reports/*")) == "implicitDeny"


def test_an_allow_of_every_resource_grants_star():
    assert _decide("s3:GetObject", "*", _allow("*")) == "allowed"


def test_a_deny_of_some_objects_does_not_deny_star():
    assert _decide("s3:GetObject", "*", _allow("*"), _deny("arn:aws:s3:::secret/*")) == "allowed"


def test_a_deny_with_not_resource_of_arns_denies_star():
    """Stricter than "on some resource" readings: '*' is outside every listed ARN, so the Deny applies."""
    deny = _deny(["arn:aws:s3:::app-data", "arn:aws:s3:::app-data/*"], action="*", key="NotResource")
    assert _decide("s3:GetObject", "*", _allow("*", action="*"), deny) == "explicitDeny"


# -- hints ------------------------------------------------------------------------------------------


def test_no_hint_for_a_resource_that_fits():
    catalogue = aws_catalogue()
    assert catalogue.resource_hint("s3:GetObject", "arn:aws:s3:::bucket/key") is None
    assert catalogue.resource_hint("s3:ListAllMyBuckets", "*") is None
    assert catalogue.resource_hint("iam:GetUser", "arn:aws:iam::111122223333:user/division/alice") is None


def test_a_wildcard_only_action_asked_on_an_arn_is_hinted():
    hint = aws_catalogue().resource_hint("s3:ListAllMyBuckets", "arn:aws:s3:::bucket")
    assert hint is not None
    assert hint.startswith(
        "s3:ListAllMyBuckets takes no resource: evaluated on '*', not on arn:aws:s3:::bucket"
    )


def test_an_action_with_resource_types_asked_on_star_is_hinted():
    hint = aws_catalogue().resource_hint("s3:GetObject", "*")
    assert hint is not None and "acts on accesspointobject, object" in hint
    assert "only statements whose Resource matches '*' apply" in hint


def test_an_arn_that_fits_no_resource_type_of_the_action_is_hinted_with_the_formats():
    hint = aws_catalogue().resource_hint("s3:GetObject", "arn:aws:s3:::bucket")
    assert hint is not None and hint.startswith("arn:aws:s3:::bucket fits no resource type of s3:GetObject")
    assert "object: arn:${Partition}:s3:::${BucketName}/${ObjectName}" in hint


def test_no_hint_for_actions_the_catalogue_does_not_know():
    assert aws_catalogue().resource_hint("docs:Read", "*") is None
    assert aws_catalogue().resource_hint("s3:GetObjekt", "*") is None
    assert empty_catalogue().resource_hint("s3:ListAllMyBuckets", "arn:aws:s3:::bucket") is None


def test_a_resource_longer_than_an_arn_can_be_gets_no_hint():
    assert aws_catalogue().resource_hint("s3:GetObject", "arn:aws:ec2:::" + "x" * 3000) is None


# -- bundle tests -----------------------------------------------------------------------------------


def _bundle_with_test(tmp_path: Path, action: str, resource: str) -> Path:
    test = {
        "name": "probe",
        "principal": "alice",
        "action": action,
        "resource": resource,
        "expected": "implicitDeny",
    }
    return write_files(tmp_path / "bundle", minimal_files({"tests/probe.json": {"tests": [test]}}))


def test_a_bundle_test_asking_a_wildcard_only_action_on_an_arn_is_a_warning(tmp_path):
    result = validate_command(_bundle_with_test(tmp_path, "s3:ListAllMyBuckets", "arn:aws:s3:::data"))
    assert result.exit_code == 0
    assert (
        "tests/probe.json: tests[0].resource: s3:ListAllMyBuckets takes no resource: evaluated on '*'"
        in result.text
    )
    assert "[test-resource-type]" in result.text


def test_a_bundle_test_on_an_arn_of_the_wrong_type_is_a_warning(tmp_path):
    result = validate_command(_bundle_with_test(tmp_path, "s3:GetObject", "arn:aws:s3:::data"))
    assert result.exit_code == 0 and "[test-resource-type]" in result.text


def test_a_bundle_test_on_star_or_a_fitting_arn_is_not(tmp_path):
    assert (
        "[test-resource-type]" not in validate_command(_bundle_with_test(tmp_path, "s3:GetObject", "*")).text
    )
    fitting = _bundle_with_test(tmp_path / "fits", "s3:GetObject", "arn:aws:s3:::data/x")
    assert "[test-resource-type]" not in validate_command(fitting).text
