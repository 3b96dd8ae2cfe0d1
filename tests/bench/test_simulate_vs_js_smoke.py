"""bench/simulate_vs_js.py runs end to end at a tiny size (no timings asserted).

Needs Node.js and the JavaScript simulator installed by `make bench-js`; skipped otherwise.
"""

from __future__ import annotations

import shutil

import pytest

from bench import simulate_vs_js

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not simulate_vs_js.CORPUS.exists(),
    reason="run `make bench-js` to install the JavaScript simulator",
)


def test_the_comparison_checks_decisions_and_times_both_sides(capsys):
    assert simulate_vs_js.main(["--count", "30", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "decisions over 30 requests" in out
    assert "| iamgate `simulate_many` (a file of requests) |" in out
