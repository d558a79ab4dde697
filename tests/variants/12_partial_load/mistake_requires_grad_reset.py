"""Mistake: each loaded Parameter is re-wrapped "to be safe" (requires_grad_(True)), unfreezing frozen ones."""

import torch

from kata_runner.testing import solution

EXPECT = "requires_grad"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    report = _ref.load_compatible(model, state_dict)
    own = model.state_dict(keep_vars=True)
    for key in report.loaded:
        if isinstance(own[key], torch.nn.Parameter):
            own[key].requires_grad_(True)
    return report
