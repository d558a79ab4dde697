"""Mistake: the existing .grad is clipped once at call time; no hook is registered for future backward passes."""

import torch

from kata_runner.testing import solution

EXPECT = "future backward"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad and p.grad is not None:
                p.grad.copy_(_ref._clip(p.grad, max_norm))
    return []
