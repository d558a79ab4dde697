"""Mistake: None entries of grad_input are filtered out, so the returned tuple is shorter and misaligned."""

from kata_runner.testing import solution

EXPECT = "None entries"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(_ref._clip(g, max_norm) for g in grad_input if g is not None)

    return hook
