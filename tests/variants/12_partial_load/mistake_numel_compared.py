"""Mistake: entries "fit" when they hold the same number of elements, and are reshaped into the model's tensor."""

import torch

from kata_runner.testing import solution

EXPECT = "same number of elements"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict()
    report = LoadReport()
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in own:
                report.unexpected.append(key)
            elif own[key].numel() != value.numel():
                report.mismatched.append(key)
            else:
                own[key].copy_(value.reshape(own[key].shape))
                report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
