"""Mistake: torch.set_grad_enabled(False) to copy into the Parameters, never switched back on."""

import torch

from kata_runner.testing import solution

EXPECT = "grad mode"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    torch.set_grad_enabled(False)
    return _ref.load_compatible(model, state_dict)
