"""Mistake: the norm is taken along the last dimension, so each row is clipped on its own instead of the tensor."""

from kata_runner.testing import solution

EXPECT = "whole tensor"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def _clip_rows(grad, max_norm):
    norm = grad.norm(dim=-1, keepdim=True)
    return grad * (max_norm / norm).clamp(max=1.0)


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(None if g is None else _clip_rows(g, max_norm) for g in grad_input)

    return hook
