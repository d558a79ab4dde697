"""Mistake: max_norm is stored on the module and read by the hooks at backward time, so a second call changes
the first call's hooks too."""

from kata_runner.testing import solution

EXPECT = "shared state"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    module._clip_max_norm = max_norm
    return [p.register_hook(lambda g: _ref._clip(g, module._clip_max_norm))
            for p in module.parameters() if p.requires_grad]
