"""The benchmark suite runs, at a tiny size, and measures right answers (no timing is asserted here).

``make bench`` takes minutes; these tests make sure a change to the engine, the bundle layer or
the bench itself cannot break the generator or the harness unnoticed, and that the evaluators the
bench compares keep agreeing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.generator import Organization, generate_organization
from bench.naive import naive_evaluate, same_answer, supports
from bench.report import BEGIN, END, write_markdown
from bench.size_worker import SizeSettings, measure_workload
from bench.workload import build_workload
from iamgate.engine import evaluate

ROOT = Path(__file__).resolve().parents[2]
TINY = 120


@pytest.fixture(scope="module")
def organization() -> Organization:
    return generate_organization(TINY, seed=7, requests=120)


def test_the_generator_is_deterministic_for_a_seed(organization: Organization) -> None:
    assert generate_organization(TINY, seed=7, requests=120).to_json() == organization.to_json()


def test_the_generator_writes_the_requested_number_of_statements(organization: Organization) -> None:
    assert organization.statement_count == TINY


def test_an_organization_survives_its_json_round_trip(organization: Organization) -> None:
    assert Organization.from_json(organization.to_json()) == organization


def test_the_request_streams_mix_allowed_and_denied_decisions(organization: Organization) -> None:
    workload = build_workload(organization)
    decisions = {evaluate(c.policy_set, c.request).decision.value for c in workload.typical + workload.heavy}
    assert decisions == {"allowed", "explicitDeny", "implicitDeny"}


def test_every_generated_policy_compiles_once(organization: Organization) -> None:
    workload = build_workload(organization)
    assert set(workload.compiled) == {p.policy_id for p in organization.policies}


def test_the_naive_evaluator_agrees_with_the_indexed_one_on_every_request(organization: Organization) -> None:
    workload = build_workload(organization)
    cases = [c for c in workload.typical + workload.heavy if supports(c.policy_set, c.request)]
    assert len(cases) > 100
    disagreements = [
        (c.request.action, c.request.resource)
        for c in cases
        if not same_answer(evaluate(c.policy_set, c.request), naive_evaluate(c.policy_set, c.request))
    ]
    assert disagreements == []


def test_the_size_harness_reports_every_series(organization: Organization) -> None:
    result = measure_workload(build_workload(organization), SizeSettings(rounds=1, naive_cases=10))
    assert {"uncached", "heavy_uncached", "cached", "heavy_cached"} <= set(result["latency"])
    assert result["naive_checked"] == 10


def test_cedar_translation_decides_like_iamgate() -> None:
    pytest.importorskip("cedarpy", reason="cedarpy comes with the bench extra")
    from bench.cedar import build_scenario, check_agreement

    assert check_agreement(build_scenario(25, requests=80), evaluate) == []


def test_an_exported_bundle_gives_the_engine_s_decisions(
    organization: Organization, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import bundle_worker
    from bench.bundle_export import write_bundle

    workload = build_workload(organization)
    answers = {
        name: [evaluate(c.policy_set, c.request).decision.value for c in cases]
        for name, cases in (("typical", workload.typical), ("heavy", workload.heavy))
    }
    (tmp_path / "org.json").write_text(organization.to_json())
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    write_bundle(organization, tmp_path / "bundle")
    arguments = [str(tmp_path / n) for n in ("bundle", "org.json", "answers.json")] + ["1", "10"]
    status = bundle_worker.main(arguments)
    assert status == 0, capsys.readouterr().out


def test_rerunning_replaces_only_the_generated_block(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    path.write_text(f"# Performance\n\nprose before\n\n{BEGIN}\nold figures\n{END}\n\nprose after\n")
    write_markdown(path, f"{BEGIN}\nnew figures\n{END}\n")
    assert (
        path.read_text() == f"# Performance\n\nprose before\n\n{BEGIN}\nnew figures\n{END}\n\nprose after\n"
    )


def test_run_prints_the_tables_at_a_tiny_size() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--sizes",
            "60",
            "--requests",
            "40",
            "--rounds",
            "1",
            "--no-cedar",
            "--no-startup",
            "--no-bundle",
            "--no-write",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Per-decision latency" in completed.stdout
