"""Mistake: max_norm is split between the parameters instead of each parameter getting the whole budget."""

from kata_runner.testing import solution

EXPECT = "on its own"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    trainable = [p for p in module.parameters() if p.requires_grad]
    share = max_norm / len(trainable)
    return [p.register_hook(lambda g: _ref._clip(g, share)) for p in trainable]
