"""Mistake: a post-accumulate-grad hook clips the accumulated .grad instead of each pass's gradient."""

import torch

from kata_runner.testing import solution

EXPECT = "before it is accumulated"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)

    def clip(param):
        with torch.no_grad():
            param.grad.copy_(_ref._clip(param.grad, max_norm))

    return [p.register_post_accumulate_grad_hook(clip) for p in module.parameters() if p.requires_grad]
