"""Mistake: `if max_norm <= 0` lets nan through (every comparison with nan is False); gradients become nan."""

from kata_runner.testing import solution

EXPECT = "nan"
_ref = solution("09")


def _check(max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm must be positive")


def clip_gradient_hook(max_norm):
    _check(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(None if g is None else _ref._clip(g, max_norm) for g in grad_input)

    return hook


def clip_parameter_gradients(module, max_norm):
    _check(max_norm)
    return [p.register_hook(lambda g: _ref._clip(g, max_norm)) for p in module.parameters() if p.requires_grad]
