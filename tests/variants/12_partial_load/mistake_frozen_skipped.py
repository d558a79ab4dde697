"""Mistake: only trainable parameters are loaded: a frozen (requires_grad=False) weight keeps its old value,
though it is reported loaded."""

import torch

from kata_runner.testing import solution

EXPECT = "loaded"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict(keep_vars=True)
    report = LoadReport()
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in own:
                report.unexpected.append(key)
            elif own[key].shape != value.shape:
                report.mismatched.append(key)
            else:
                if not (isinstance(own[key], torch.nn.Parameter) and not own[key].requires_grad):
                    own[key].copy_(value)
                report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
