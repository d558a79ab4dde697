"""Mistake: the model's keys are named_parameters() + named_buffers() minus nothing for loading, so a
checkpoint key named like a non-persistent buffer is loaded into it (and reported loaded)."""

import torch

from kata_runner.testing import solution

EXPECT = "not part of a state_dict"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    saved = model.state_dict()
    own = {**dict(model.named_parameters(remove_duplicate=False)), **dict(model.named_buffers(remove_duplicate=False))}
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
    report.missing = [k for k in saved if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
