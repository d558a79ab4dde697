"""Mistake: every gradient is rescaled to norm max_norm, so small gradients are scaled up (and zeros become nan)."""

from kata_runner.testing import solution

EXPECT = "untouched"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(None if g is None else g * (max_norm / g.norm()) for g in grad_input)

    return hook
