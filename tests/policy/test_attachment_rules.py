"""Where a policy is attached decides which elements it may have."""

from __future__ import annotations

from iamgate.policy import Attachment, Severity, attachment_problems, parse_policy


def _document(statement: dict):
    return parse_policy({"Version": "2012-10-17", "Statement": [statement]})


def test_identity_policy_may_not_name_a_principal() -> None:
    document = _document({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"})
    problems = attachment_problems(document, Attachment.IDENTITY)
    assert [p.path for p in problems] == ["Statement[0].Principal"]
    assert "not allowed" in problems[0].message


def test_identity_policy_statement_needs_a_resource() -> None:
    problems = attachment_problems(_document({"Effect": "Allow", "Action": "s3:*"}), Attachment.IDENTITY)
    assert [p.code for p in problems] == ["resource-missing"]


def test_resource_policy_statement_needs_a_principal() -> None:
    problems = attachment_problems(
        _document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), Attachment.RESOURCE
    )
    assert [p.code for p in problems] == ["principal-missing"]


def test_trust_policy_without_resource_is_fine() -> None:
    document = _document(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}
    )
    assert attachment_problems(document, Attachment.RESOURCE) == []


def test_scp_allow_with_condition_is_a_warning() -> None:
    document = _document(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        }
    )
    (problem,) = attachment_problems(document, Attachment.SCP)
    assert problem.severity is Severity.WARNING
