"""sts:GetCallerIdentity needs no permission: AWS answers it for every authenticated IAM principal.

AWS's STS API reference: "No permissions are required to perform this operation. If an
administrator attaches a policy to your identity that explicitly denies access to the
sts:GetCallerIdentity action, you can still perform this operation." The one evaluator decides it
so for Simulate and for the bundle's paths alike; every other action is untouched.
"""

from __future__ import annotations

from iamgate.bundle.default import load_default_snapshot
from iamgate.bundle.query import AccessQuery
from iamgate.engine.simulate import simulate

V = "2012-10-17"
USER = "arn:aws:iam::111122223333:user/sarah"
DENY_EVERYTHING = {"Version": V, "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}


def _decision(caller: str, action: str, *policies: dict, **extra: object) -> str:
    request = {
        "CallerArn": caller,
        "ActionNames": [action],
        "ResourceArns": ["*"],
        "PolicyInputList": list(policies),
        **extra,
    }
    (result,) = simulate(request)["EvaluationResults"]
    return result["EvalDecision"]


def test_get_caller_identity_is_allowed_with_no_policy():
    assert _decision(USER, "sts:GetCallerIdentity") == "allowed"


def test_an_explicit_deny_does_not_stop_get_caller_identity():
    assert _decision(USER, "sts:GetCallerIdentity", DENY_EVERYTHING) == "allowed"


def test_an_scp_deny_does_not_stop_get_caller_identity():
    levels = {"ServiceControlPolicyLevels": [[DENY_EVERYTHING]]}
    assert _decision(USER, "sts:GetCallerIdentity", **levels) == "allowed"


def test_an_assumed_role_session_may_ask_who_it_is():
    session = "arn:aws:sts::111122223333:assumed-role/Reader/s1"
    assert _decision(session, "sts:GetCallerIdentity", DENY_EVERYTHING) == "allowed"


def test_the_action_name_is_matched_without_regard_to_case():
    assert _decision(USER, "STS:getcalleridentity") == "allowed"


def test_other_sts_actions_still_need_a_permission():
    assert _decision(USER, "sts:GetSessionToken") == "implicitDeny"
    assert _decision(USER, "sts:GetAccessKeyInfo", DENY_EVERYTHING) == "explicitDeny"


def test_a_service_principal_gets_no_such_exception():
    assert _decision("lambda.amazonaws.com", "sts:GetCallerIdentity") == "implicitDeny"


def test_the_sidecar_path_allows_it_for_a_bundle_user_with_no_statement_deciding():
    snapshot = load_default_snapshot(cache_size=0)
    outcome = snapshot.authorize(AccessQuery("lisa-finance", "sts:GetCallerIdentity", "*"))
    assert outcome.evaluation.allowed and outcome.evaluation.determining == ()
