"""Mistake (the seed's approach): clip_parameter_gradients registers the full backward hook on every submodule,
which clips the gradients flowing between layers but never the weight gradients."""

from kata_runner.testing import solution

EXPECT = "the weight gradient included"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


def clip_parameter_gradients(module, max_norm):
    hook = _ref.clip_gradient_hook(max_norm)
    return [sub.register_full_backward_hook(hook) for sub in module.modules() if list(sub.parameters(recurse=False))]
