"""Mistake: parameters are collected module by module without deduplication, so a tied weight gets two hooks
(and two handles)."""

from kata_runner.testing import solution

EXPECT = "a tied parameter once"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    handles = []
    for sub in module.modules():
        for param in sub.parameters(recurse=False):
            if param.requires_grad:
                handles.append(param.register_hook(lambda g: _ref._clip(g, max_norm)))
    return handles
