"""Mistake: clip_parameter_gradients registers its hooks first and validates max_norm afterwards, so a rejected
call leaves hooks behind that zero (max_norm=0) or nan every later gradient."""

from kata_runner.testing import solution

EXPECT = "before registering"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    handles = [p.register_hook(lambda g: _ref._clip(g, max_norm)) for p in module.parameters() if p.requires_grad]
    _ref._check_max_norm(max_norm)
    return handles
