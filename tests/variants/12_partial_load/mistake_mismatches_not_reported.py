"""Mistake: shape mismatches are dropped silently; the report never mentions them."""

from kata_runner.testing import solution

EXPECT = "reported as mismatched"
_ref = solution("12")


def load_compatible(model, state_dict):
    report = _ref.load_compatible(model, state_dict)
    report.mismatched = []
    return report


LoadReport = _ref.LoadReport
