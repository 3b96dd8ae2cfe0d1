"""Issue 8, item 2: one canonical resource identity.

The engine compares an ARN's partition, service and region case-insensitively, so a re-spelled
ARN still matched identity statements while the bundle's tags and resource policies, looked up
by the exact string, were missed: the tag deny and the bucket policy's deny did not apply. Now the
resource is canonicalised once, an IAM entity resolves by name to its real ARN, and an ARN with
whitespace or a malformed one is refused.
"""

from __future__ import annotations

import pytest

import iamgate_client as sdk

from .trust_helpers import MAIN, PROD_INSTANCE, UPLOAD, UPLOADER, sidecar_client


@pytest.fixture(scope="module")
def embedded():
    with sidecar_client() as (client, _):
        yield client


@pytest.mark.parametrize(
    "spelling",
    [
        PROD_INSTANCE,
        PROD_INSTANCE.replace("us-east-1", "US-EAST-1"),
        PROD_INSTANCE.replace(":ec2:", ":EC2:"),
        PROD_INSTANCE.replace("arn:aws:", "arn:AWS:"),
        PROD_INSTANCE.replace("arn:aws:ec2:us-east-1", "arn:Aws:Ec2:Us-East-1"),
    ],
)
def test_every_spelling_of_the_production_instance_keeps_its_tag_deny(embedded, spelling):
    decision = embedded.authorize("sarah-developer", "ec2:TerminateInstances", spelling)
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY
    assert [ref.sid for ref in decision.determining] == ["DenyTerminateProduction"]


@pytest.mark.parametrize(
    "spelling",
    [UPLOAD, UPLOAD.replace(":s3:", ":S3:"), UPLOAD.replace("arn:aws:", "arn:AWS:")],
)
def test_every_spelling_of_the_upload_bucket_keeps_its_bucket_policy_deny(embedded, spelling):
    decision = embedded.authorize(UPLOADER, "s3:PutObject", spelling, {"aws:SecureTransport": False})
    assert decision.outcome is sdk.Outcome.EXPLICIT_DENY
    assert decision.denied_by is sdk.PolicyType.RESOURCE


@pytest.mark.parametrize(
    "spelling",
    [PROD_INSTANCE + " ", " " + PROD_INSTANCE, PROD_INSTANCE + "\n", PROD_INSTANCE + "\u00a0", UPLOAD + "\t"],
)
def test_a_resource_with_whitespace_is_refused(embedded, spelling):
    with pytest.raises(sdk.InvalidRequestError, match=r"resource: .*whitespace or a control character"):
        embedded.authorize("sarah-developer", "ec2:TerminateInstances", spelling)


@pytest.mark.parametrize(
    "resource", ["i-0prod1234567890ab", "arn:aws:ec2", "arn:aws:ec2:us-east-1:123456789012:", "arn:*:ec2:::x"]
)
def test_a_malformed_resource_is_refused(embedded, resource):
    with pytest.raises(sdk.InvalidRequestError, match="resource: "):
        embedded.authorize("sarah-developer", "ec2:TerminateInstances", resource)


@pytest.mark.parametrize("name", ["John-Developer", "JOHN-DEVELOPER", "engineering/john-developer"])
def test_johns_user_is_johns_user_however_it_is_spelled(embedded, name):
    decision = embedded.authorize(
        "sarah-developer", "iam:CreateAccessKey", f"arn:aws:iam::{MAIN}:user/{name}"
    )
    assert decision.outcome is sdk.Outcome.IMPLICIT_DENY
    own = embedded.authorize("john-developer", "iam:CreateAccessKey", f"arn:aws:iam::{MAIN}:user/{name}")
    assert own.outcome is sdk.Outcome.ALLOWED
