"""Mistake: no shape check; copy_ is tried and a RuntimeError means "mismatched". copy_ broadcasts, so a (1,)
value silently fills a (3,) bias."""

import torch

from kata_runner.testing import solution

EXPECT = "broadcast"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict()
    report = LoadReport()
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in own:
                report.unexpected.append(key)
                continue
            try:
                own[key].copy_(value)
            except RuntimeError:
                report.mismatched.append(key)
            else:
                report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
