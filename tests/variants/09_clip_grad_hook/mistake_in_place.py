"""Mistake: the hook rescales the grad_input tensors in place and returns them (hooks must not modify arguments)."""

from kata_runner.testing import solution

EXPECT = "in place"
_ref = solution("09")
clip_parameter_gradients = _ref.clip_parameter_gradients


def clip_gradient_hook(max_norm):
    _ref._check_max_norm(max_norm)

    def hook(module, grad_input, grad_output):
        for g in grad_input:
            if g is not None and g.norm() > max_norm:
                g.mul_(max_norm / g.norm())
        return grad_input

    return hook
