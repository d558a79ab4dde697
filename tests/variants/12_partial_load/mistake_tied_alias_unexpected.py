"""Mistake: the model's keys from named_parameters() and the persistent named_buffers(), which de-duplicate: a
tied weight's second name is not a key, so it is reported unexpected (and missing from missing)."""

import torch

from kata_runner.testing import solution

EXPECT = "tied weight"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    saved = model.state_dict()
    own = dict(model.named_parameters())
    own.update((k, b) for k, b in model.named_buffers() if k in saved)
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
