"""Mistake: hooks are registered on every parameter, frozen ones included (register_hook refuses them)."""

from kata_runner.testing import solution

EXPECT = "frozen"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    return [p.register_hook(lambda g: _ref._clip(g, max_norm)) for p in module.parameters()]
