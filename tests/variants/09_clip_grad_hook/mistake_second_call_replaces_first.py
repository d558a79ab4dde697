"""Mistake: a second call removes the hooks of the first one ("to avoid clipping twice"); calls must stack."""

from kata_runner.testing import solution

EXPECT = "each call"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    for handle in getattr(module, "_clip_handles", []):
        handle.remove()
    handles = [p.register_hook(lambda g: _ref._clip(g, max_norm)) for p in module.parameters() if p.requires_grad]
    module._clip_handles = handles
    return handles
