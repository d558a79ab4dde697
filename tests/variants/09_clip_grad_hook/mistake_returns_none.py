"""Mistake: the hook computes the clipped gradients but forgets to return them (None means "unchanged")."""

from kata_runner.testing import solution

EXPECT = "returned None"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        clipped = tuple(None if g is None else _ref._clip(g, max_norm) for g in grad_input)  # noqa: F841

    return hook
