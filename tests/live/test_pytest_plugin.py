"""The pytest plugin, run the way a vendor runs it: the example test file of the docs
in a separate pytest process, in both server modes."""
from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "test_vendor_client.py"
pytest_plugins = ["pytester"]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_the_documented_example_passes(pytester, mode):
    pytester.makepyfile(test_vendor_client=EXAMPLE.read_text())
    result = pytester.runpytest_subprocess("--sim-mode", mode, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_marks_apply_to_one_test_and_reset_undoes_them(pytester):
    pytester.makepyfile("""
        import json, urllib.request
        import pytest

        def clock(sim):
            return json.load(urllib.request.urlopen(sim.base_url + "/_admin/clock"))

        @pytest.mark.sim_date("2023-01-15T08:00:00Z")
        @pytest.mark.sim_scenario("insi-slow")
        def test_marked(insi_dmp_sim):
            assert clock(insi_dmp_sim) == {"now": "2023-01-15T08:00:00.000+00:00",
                                           "frozen": True}
            assert insi_dmp_sim.admin("GET", "/scenario")["name"] == "insi-slow"

        def test_unmarked_after(insi_dmp_sim):
            assert not clock(insi_dmp_sim)["now"].startswith("2023-01-15")
            assert insi_dmp_sim.admin("GET", "/scenario") == {"active": False}
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_bad_scenario_mark_fails_the_test_with_the_reason(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.sim_scenario("name: x\\nrules:\\n  - action: explode\\n")
        def test_bad(insi_dmp_sim):
            pass
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*rule 1, field action: expected reset, empty*"])
