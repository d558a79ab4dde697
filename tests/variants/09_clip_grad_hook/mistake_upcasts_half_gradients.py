"""Mistake: float16/bfloat16 gradients are clipped in float32 for accuracy, and never cast back."""

import torch

from kata_runner.testing import solution

EXPECT = "dtype"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        out = []
        for g in grad_input:
            if g is not None and g.dtype in (torch.float16, torch.bfloat16):
                g = g.float()
            out.append(None if g is None else _ref._clip(g, max_norm))
        return tuple(out)

    return hook
