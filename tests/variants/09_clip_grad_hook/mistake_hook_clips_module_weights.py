"""Mistake (the seed's belief): the backward hook also clips the module's own parameter gradients in place."""

import torch

from kata_runner.testing import solution

EXPECT = "weight gradient"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    inner = _ref.clip_gradient_hook(max_norm)

    def hook(module, grad_input, grad_output):
        with torch.no_grad():
            for p in module.parameters():
                if p.grad is not None:
                    p.grad.copy_(_ref._clip(p.grad, max_norm))
        return inner(module, grad_input, grad_output)

    return hook
