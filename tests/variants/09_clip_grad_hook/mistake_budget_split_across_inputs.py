"""Mistake: the hook splits max_norm between the grad_input tensors instead of clipping each on its own."""

from kata_runner.testing import solution

EXPECT = "on its own"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        share = max_norm / max(1, sum(g is not None for g in grad_input))
        return tuple(None if g is None else _ref._clip(g, share) for g in grad_input)

    return hook
