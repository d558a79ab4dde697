"""Mistake: the hook clips grad_output and returns it, as if it could replace the module's output gradient."""

from kata_runner.testing import solution

EXPECT = "replaces grad_input"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(None if g is None else _ref._clip(g, max_norm) for g in grad_output)

    return hook
