"""One client suite, two transports: every test runs against a real sidecar (``Client``) and
in-process (``Embedded``) on the same bundle directory, and must see the same answers and errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
from service.bundle_helpers import ACCOUNT, OBJECT, bundle_files, wait_until, write_tree

import iamgate_client as sdk
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


@contextlib.contextmanager
def _remote(bundle: str) -> Iterator[sdk.Client]:
    source = ManagedBundles(BundleSettings(bundle=bundle, poll_interval=0.05))
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as client:
            yield client
    finally:
        sidecar.stop(0)


@pytest.fixture(params=["remote", "embedded"])
def iamgate(request, tmp_path):
    """The same bundle (revision A: alice may read, not write), served remotely or in-process."""
    bundle = str(write_tree(tmp_path / "bundle", bundle_files(revision="A")))
    request.node.bundle_path = tmp_path / "bundle"
    if request.param == "remote":
        with _remote(bundle) as client:
            yield client
    else:
        with sdk.Embedded(bundle, poll_interval=0.05) as embedded:
            yield embedded


def test_an_allowed_decision_names_the_principal_revision_and_statement(iamgate):
    decision = iamgate.authorize("alice", "s3:GetObject", OBJECT, request_id="r-1")
    assert decision.allowed and not decision.fail_closed
    assert (decision.principal_arn, decision.revision, decision.request_id) == (ALICE, "A", "r-1")
    assert [ref.label for ref in decision.determining] == ["ObjectAccess"]


def test_an_implicit_deny_carries_the_aws_message(iamgate):
    decision = iamgate.authorize("alice", "s3:PutObject", OBJECT)
    assert decision.outcome is sdk.Outcome.IMPLICIT_DENY and not decision
    assert decision.message.startswith(
        f"User: {ALICE} is not authorized to perform: s3:PutObject on resource"
    )


def test_an_unknown_principal_is_denied(iamgate):
    assert not iamgate.authorize("mallory", "s3:GetObject", OBJECT).allowed


def test_an_empty_action_is_an_invalid_request_naming_the_field(iamgate):
    with pytest.raises(sdk.InvalidRequestError) as raised:
        iamgate.authorize("alice", "", OBJECT)
    assert raised.value.code == "INVALID_ARGUMENT" and raised.value.details.startswith("action:")


def test_a_sidecar_owned_context_key_is_refused_by_name(iamgate):
    with pytest.raises(sdk.OwnedContextKeyError) as raised:
        iamgate.authorize("alice", "s3:GetObject", OBJECT, {"aws:PrincipalTag/team": "admins"})
    assert raised.value.key == "aws:PrincipalTag/team"


def test_a_batch_answers_each_item_or_its_own_error(iamgate):
    results = iamgate.authorize_batch(
        [sdk.Check("alice", "s3:GetObject", OBJECT), sdk.Check("alice", "nocolon", OBJECT)]
    )
    assert isinstance(results[0], sdk.Decision) and results[0].allowed
    assert isinstance(results[1], sdk.InvalidRequestError) and results[1].details.startswith(
        "requests[1].action"
    )


def test_explain_returns_the_statement_trace(iamgate):
    explanation = iamgate.explain("alice", "s3:GetObject", OBJECT)
    assert explanation.allowed
    assert any(s.applies for p in explanation.policies for s in p.statements)


def test_simulate_evaluates_ad_hoc_policies(iamgate):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    [result] = iamgate.simulate([policy], ["s3:GetObject"], caller_arn=ALICE)
    assert result.allowed


def test_status_reports_the_active_revision(iamgate):
    status = iamgate.status()
    assert status.active is not None and status.active.revision == "A" and not status.admin_enabled


def test_rollback_without_admin_is_permission_denied(iamgate):
    with pytest.raises(sdk.PermissionDeniedError):
        iamgate.rollback()


def test_per_call_timeout_and_metadata_are_accepted(iamgate):
    decision = iamgate.authorize("alice", "s3:GetObject", OBJECT, timeout=2.0, metadata=[("x-app", "t")])
    assert decision.allowed


def test_a_closed_client_raises_client_closed_error(iamgate):
    iamgate.close()
    with pytest.raises(sdk.ClientClosedError):
        iamgate.authorize("alice", "s3:GetObject", OBJECT)


def test_a_new_bundle_revision_is_picked_up_without_a_restart(iamgate, request):
    write_tree(request.node.bundle_path, bundle_files(write=True, revision="B"))
    wait_until(lambda: iamgate.status().active.revision == "B", timeout=10)
    assert iamgate.authorize("alice", "s3:PutObject", OBJECT).allowed


def test_a_bad_new_revision_is_rejected_and_the_last_good_keeps_serving(iamgate, request):
    write_tree(request.node.bundle_path, bundle_files(revision="C", extra={"organization.json": b"{nope"}))
    wait_until(lambda: iamgate.status().last_error, timeout=10)
    status = iamgate.status()
    assert status.active.revision == "A" and status.rejections >= 1
    assert iamgate.authorize("alice", "s3:GetObject", OBJECT).allowed


def test_remote_and_embedded_give_equal_decisions(tmp_path):
    bundle = str(write_tree(tmp_path / "bundle", bundle_files(revision="A")))
    questions = [
        ("alice", "s3:GetObject", OBJECT, None),
        ("alice", "s3:PutObject", OBJECT, None),
        ("alice", "s3:GetObject", "arn:aws:s3:::other/y", {"aws:SourceIp": sdk.Ip("10.0.0.1")}),
        ("bob", "s3:GetObject", OBJECT, None),
    ]
    with _remote(bundle) as remote, sdk.Embedded(bundle) as embedded:
        for principal, action, resource, context in questions:
            a = remote.authorize(principal, action, resource, context)
            b = embedded.authorize(principal, action, resource, context)
            assert replace(a, decision_id="") == replace(b, decision_id=""), (principal, action, resource)


def test_remote_and_embedded_agree_on_the_default_bundles_own_questions():
    """The guide's organization: explicit denies, SCPs, boundaries, resource policies, roles."""
    from iamgate.bundle.default import load_default_snapshot

    tests = [t for t in load_default_snapshot().tests if t.now is None]
    source = ManagedBundles(BundleSettings())
    sidecar = start_sidecar(ServiceConfig(address="127.0.0.1:0", metrics_address=None), source)
    try:
        with sdk.Client(f"127.0.0.1:{sidecar.port}") as remote, sdk.Embedded() as embedded:
            outcomes = set()
            for test in tests:
                context = {c.name: list(c.values) if c.multi else c.values[0] for c in test.context}
                a = remote.authorize(test.principal, test.action, test.resource, context)
                b = embedded.authorize(test.principal, test.action, test.resource, context)
                assert replace(a, decision_id="") == replace(b, decision_id=""), test.name
                assert a.outcome.value == test.expected.value, test.name
                outcomes.add(a.outcome)
    finally:
        sidecar.stop(0)
    assert outcomes == set(sdk.Outcome)


def test_embedded_serves_a_bundle_url_and_picks_up_a_new_revision():
    from service.bundle_helpers import BundleServer, tarball

    server = BundleServer(tarball(bundle_files(revision="A")))
    try:
        with sdk.Embedded(server.url, poll_interval=0.05) as embedded:
            assert not embedded.authorize("alice", "s3:PutObject", OBJECT).allowed
            server.body = tarball(bundle_files(write=True, revision="B"))
            wait_until(lambda: embedded.status().active.revision == "B", timeout=10)
            assert embedded.authorize("alice", "s3:PutObject", OBJECT).allowed
    finally:
        server.close()
