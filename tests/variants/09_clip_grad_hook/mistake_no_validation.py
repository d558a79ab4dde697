"""Mistake: max_norm is never validated, so 0 zeroes every gradient and a negative value flips them."""

from kata_runner.testing import solution

EXPECT = "validate max_norm"
_ref = solution("09")


def clip_gradient_hook(max_norm):
    def hook(module, grad_input, grad_output):
        return tuple(None if g is None else _ref._clip(g, max_norm) for g in grad_input)

    return hook


def clip_parameter_gradients(module, max_norm):
    return [p.register_hook(lambda g: _ref._clip(g, max_norm)) for p in module.parameters() if p.requires_grad]
