"""Mistake: named_parameters() + named_buffers() as the model's keys, so a non-persistent buffer is "missing"."""

import torch

from kata_runner.testing import solution

EXPECT = "non-persistent"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = {**dict(model.named_parameters()), **dict(model.named_buffers())}
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
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
