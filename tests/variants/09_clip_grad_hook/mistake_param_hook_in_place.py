"""Mistake: the parameter hook rescales the gradient it receives in place (g.mul_) and returns it."""

from kata_runner.testing import solution

EXPECT = "in place"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)

    def clip(grad):
        norm = grad.norm()
        if norm > max_norm:
            grad.mul_(max_norm / norm)
        return grad

    return [p.register_hook(clip) for p in module.parameters() if p.requires_grad]
