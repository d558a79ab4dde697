"""Mistake: each element is clamped to [-max_norm, max_norm] instead of rescaling the tensor (changes direction)."""

from kata_runner.testing import solution

EXPECT = "direction"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(None if g is None else g.clamp(-max_norm, max_norm) for g in grad_input)

    return hook
