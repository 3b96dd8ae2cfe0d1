"""The AWS services, actions and resource ARN shapes the synthetic organization draws from.

Real action names and ARN formats, so that wildcards (``s3:Get*``, ``arn:aws:ec2:*:ACCT:instance/*``)
fan out over the index the way they do in a real bundle. Requests are built from the same catalog,
so a wildcard in a policy always has real actions behind it.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from dataclasses import dataclass

REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1", "ap-northeast-1")
ALLOWED_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1")
"""Regions the organization's region-lock SCP permits; requests elsewhere are denied."""

TEAMS = ("payments", "search", "growth", "platform", "data", "mobile", "identity", "billing", "infra", "ml")
DEPARTMENTS = ("Engineering", "Finance", "Operations", "Security", "Marketing")
ENVIRONMENTS = ("production", "staging", "development", "sandbox")

ResourceMaker = Callable[[random.Random, str, str, str], str]
"""(rng, region, account, team) -> a concrete resource ARN."""


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _s3_object(rng: random.Random, _region: str, _account: str, team: str) -> str:
    key = rng.choice(("reports", "uploads", "exports", "home", "logs", "assets"))
    return f"arn:aws:s3:::{team}-{rng.randrange(4)}/{key}/{_hex(rng, 6)}.json"


def _s3_bucket(rng: random.Random, _region: str, _account: str, team: str) -> str:
    return f"arn:aws:s3:::{team}-{rng.randrange(4)}"


def _ec2_instance(rng: random.Random, region: str, account: str, _team: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:instance/i-0{_hex(rng, 16)}"


def _ec2_volume(rng: random.Random, region: str, account: str, _team: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:volume/vol-0{_hex(rng, 16)}"


def _dynamodb_table(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{team}-{rng.choice(('orders', 'users', 'events'))}"


def _lambda_function(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{team}-{rng.choice(('api', 'worker', 'cron'))}"


def _log_group(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{team}-{rng.randrange(5)}:*"


def _sqs_queue(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{team}-{rng.choice(('jobs', 'events', 'dlq'))}"


def _sns_topic(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{team}-{rng.choice(('alerts', 'events'))}"


def _kms_alias(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:kms:{region}:{account}:alias/{team}-{rng.randrange(3)}"


def _rds_db(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:rds:{region}:{account}:db:{team}-{rng.choice(('main', 'replica', 'analytics'))}"


def _secret(rng: random.Random, region: str, account: str, team: str) -> str:
    return (
        f"arn:aws:secretsmanager:{region}:{account}:secret:{team}/{rng.choice(('db', 'api'))}-{_hex(rng, 6)}"
    )


def _ssm_parameter(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter/{team}/{rng.choice(('config', 'flags'))}/{_hex(rng, 4)}"


def _ecr_repository(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{team}/{rng.choice(('api', 'worker', 'web'))}"


def _cloudwatch_alarm(rng: random.Random, region: str, account: str, team: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{team}-{_hex(rng, 4)}"


def _iam_user(rng: random.Random, _region: str, account: str, team: str) -> str:
    return f"arn:aws:iam::{account}:user/{team}/u{rng.randrange(100)}"


@dataclass(frozen=True, slots=True)
class Service:
    prefix: str
    actions: tuple[str, ...]
    resources: tuple[ResourceMaker, ...]
    pattern_templates: tuple[str, ...]
    """Resource patterns as policy authors write them; ``{region}``, ``{account}``, ``{team}`` filled in."""
    wildcard_verbs: tuple[str, ...]
    """Action-name prefixes authors wildcard, e.g. ``Get`` for ``s3:Get*``."""

    def action_names(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}:{name}" for name in self.actions)

    def expand(self, pattern: str) -> tuple[str, ...]:
        """The catalog actions an IAM action pattern names (case-insensitive, like IAM)."""
        lowered = pattern.lower()
        return tuple(a for a in self.action_names() if fnmatch.fnmatchcase(a.lower(), lowered))


SERVICES: tuple[Service, ...] = (
    Service(
        "s3",
        (
            "GetObject",
            "PutObject",
            "DeleteObject",
            "ListBucket",
            "GetObjectTagging",
            "PutObjectTagging",
            "GetObjectVersion",
            "DeleteObjectVersion",
            "ListBucketVersions",
            "GetBucketLocation",
            "GetBucketPolicy",
            "PutBucketPolicy",
            "AbortMultipartUpload",
            "ListMultipartUploadParts",
            "GetObjectAcl",
            "PutObjectAcl",
            "GetBucketTagging",
            "RestoreObject",
        ),
        (_s3_object, _s3_object, _s3_bucket),
        (
            "arn:aws:s3:::{team}-*/*",
            "arn:aws:s3:::{team}-0/reports/*",
            "arn:aws:s3:::{team}-1",
            "arn:aws:s3:::{team}-*",
            "arn:aws:s3:::{team}-2/uploads/*",
        ),
        ("Get", "Put", "List", "Delete"),
    ),
    Service(
        "ec2",
        (
            "RunInstances",
            "StartInstances",
            "StopInstances",
            "TerminateInstances",
            "RebootInstances",
            "DescribeInstances",
            "DescribeVolumes",
            "CreateTags",
            "DeleteTags",
            "CreateVolume",
            "AttachVolume",
            "DetachVolume",
            "DeleteVolume",
            "CreateSnapshot",
            "DescribeSnapshots",
            "ModifyInstanceAttribute",
            "DescribeSecurityGroups",
            "AuthorizeSecurityGroupIngress",
        ),
        (_ec2_instance, _ec2_instance, _ec2_volume),
        (
            "arn:aws:ec2:*:{account}:instance/*",
            "arn:aws:ec2:{region}:{account}:instance/*",
            "arn:aws:ec2:{region}:{account}:volume/*",
            "arn:aws:ec2:*:*:instance/*",
        ),
        ("Describe", "Create", "Delete", "Start", "Stop"),
    ),
    Service(
        "dynamodb",
        (
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "Scan",
            "BatchGetItem",
            "BatchWriteItem",
            "DescribeTable",
            "CreateTable",
            "DeleteTable",
            "UpdateTable",
        ),
        (_dynamodb_table,),
        (
            "arn:aws:dynamodb:{region}:{account}:table/{team}-*",
            "arn:aws:dynamodb:*:{account}:table/*",
            "arn:aws:dynamodb:{region}:{account}:table/{team}-orders",
        ),
        ("Get", "Put", "Batch", "Describe", "Update"),
    ),
    Service(
        "lambda",
        (
            "InvokeFunction",
            "CreateFunction",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "DeleteFunction",
            "GetFunction",
            "ListFunctions",
            "PublishVersion",
            "AddPermission",
        ),
        (_lambda_function,),
        ("arn:aws:lambda:{region}:{account}:function:{team}-*", "arn:aws:lambda:*:{account}:function:*"),
        ("Get", "Update", "Invoke", "List"),
    ),
    Service(
        "logs",
        (
            "CreateLogGroup",
            "CreateLogStream",
            "PutLogEvents",
            "GetLogEvents",
            "FilterLogEvents",
            "DescribeLogGroups",
            "DescribeLogStreams",
            "DeleteLogGroup",
            "PutRetentionPolicy",
        ),
        (_log_group,),
        (
            "arn:aws:logs:*:*:*",
            "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{team}-*",
            "arn:aws:logs:*:{account}:log-group:*",
        ),
        ("Describe", "Get", "Create", "Put"),
    ),
    Service(
        "sqs",
        (
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "GetQueueAttributes",
            "SetQueueAttributes",
            "PurgeQueue",
            "CreateQueue",
            "DeleteQueue",
            "ChangeMessageVisibility",
            "GetQueueUrl",
        ),
        (_sqs_queue,),
        ("arn:aws:sqs:{region}:{account}:{team}-*", "arn:aws:sqs:*:{account}:*"),
        ("Get", "Send", "Delete", "Receive"),
    ),
    Service(
        "sns",
        (
            "Publish",
            "Subscribe",
            "Unsubscribe",
            "CreateTopic",
            "DeleteTopic",
            "GetTopicAttributes",
            "SetTopicAttributes",
            "ListSubscriptionsByTopic",
        ),
        (_sns_topic,),
        ("arn:aws:sns:{region}:{account}:{team}-*", "arn:aws:sns:*:{account}:*"),
        ("Get", "Set", "List"),
    ),
    Service(
        "kms",
        (
            "Encrypt",
            "Decrypt",
            "GenerateDataKey",
            "DescribeKey",
            "ReEncryptFrom",
            "ReEncryptTo",
            "CreateGrant",
            "ListAliases",
            "GetKeyPolicy",
        ),
        (_kms_alias,),
        ("arn:aws:kms:{region}:{account}:alias/{team}-*", "arn:aws:kms:*:{account}:alias/*"),
        ("ReEncrypt", "Generate", "Describe", "Get"),
    ),
    Service(
        "rds",
        (
            "CreateDBInstance",
            "DeleteDBInstance",
            "DescribeDBInstances",
            "ModifyDBInstance",
            "RebootDBInstance",
            "StartDBInstance",
            "StopDBInstance",
            "CreateDBSnapshot",
        ),
        (_rds_db,),
        ("arn:aws:rds:{region}:{account}:db:{team}-*", "arn:aws:rds:*:{account}:db:*"),
        ("Describe", "Start", "Stop", "Create"),
    ),
    Service(
        "secretsmanager",
        (
            "GetSecretValue",
            "DescribeSecret",
            "PutSecretValue",
            "CreateSecret",
            "DeleteSecret",
            "RotateSecret",
            "ListSecrets",
            "TagResource",
        ),
        (_secret,),
        (
            "arn:aws:secretsmanager:{region}:{account}:secret:{team}/*",
            "arn:aws:secretsmanager:*:{account}:secret:*",
        ),
        ("Get", "Describe", "Put"),
    ),
    Service(
        "ssm",
        (
            "GetParameter",
            "GetParameters",
            "GetParametersByPath",
            "PutParameter",
            "DeleteParameter",
            "DescribeParameters",
            "SendCommand",
            "StartSession",
        ),
        (_ssm_parameter,),
        ("arn:aws:ssm:{region}:{account}:parameter/{team}/*", "arn:aws:ssm:*:{account}:parameter/*"),
        ("Get", "Put", "Describe"),
    ),
    Service(
        "ecr",
        (
            "GetAuthorizationToken",
            "BatchGetImage",
            "GetDownloadUrlForLayer",
            "PutImage",
            "InitiateLayerUpload",
            "UploadLayerPart",
            "CompleteLayerUpload",
            "DescribeRepositories",
            "BatchCheckLayerAvailability",
        ),
        (_ecr_repository,),
        ("arn:aws:ecr:{region}:{account}:repository/{team}/*", "arn:aws:ecr:*:{account}:repository/*"),
        ("Get", "Batch", "Describe"),
    ),
    Service(
        "cloudwatch",
        (
            "PutMetricData",
            "GetMetricData",
            "GetMetricStatistics",
            "ListMetrics",
            "PutMetricAlarm",
            "DescribeAlarms",
            "DeleteAlarms",
            "SetAlarmState",
        ),
        (_cloudwatch_alarm,),
        ("arn:aws:cloudwatch:{region}:{account}:alarm:{team}-*", "arn:aws:cloudwatch:*:{account}:alarm:*"),
        ("Get", "Put", "Describe", "List"),
    ),
    Service(
        "iam",
        (
            "GetUser",
            "ListUsers",
            "CreateUser",
            "DeleteUser",
            "CreateAccessKey",
            "DeleteAccessKey",
            "ListAccessKeys",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "TagUser",
            "ChangePassword",
        ),
        (_iam_user,),
        ("arn:aws:iam::{account}:user/{team}/*", "arn:aws:iam::{account}:user/*"),
        ("Get", "List", "Create", "Delete"),
    ),
)

BY_PREFIX: dict[str, Service] = {service.prefix: service for service in SERVICES}


def service_of(action: str) -> Service:
    return BY_PREFIX[action.partition(":")[0].lower()]


def all_actions() -> tuple[str, ...]:
    return tuple(a for service in SERVICES for a in service.action_names())


def expand_actions(pattern: str) -> tuple[str, ...]:
    """Every catalog action an IAM action pattern (``*``, ``s3:Get*``, ``ec2:RunInstances``) names."""
    if pattern.strip("*") == "":
        return all_actions()
    prefix = pattern.partition(":")[0].lower()
    service = BY_PREFIX.get(prefix)
    return service.expand(pattern) if service is not None else ()
