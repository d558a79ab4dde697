"""Mistake: the report's lists keep the state_dict's order instead of being sorted."""

import torch

from kata_runner.testing import solution

EXPECT = "not sorted"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict()
    report = LoadReport()
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in own:
                report.unexpected.append(key)
            elif own[key].shape != value.shape:
                report.mismatched.append(key)
            else:
                own[key].copy_(value)
                report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    return report
