"""Mistake: max_norm is required to be a float, so an int max_norm (max_norm=1) raises TypeError."""

from kata_runner.testing import solution

EXPECT = "an int max_norm"
_ref = solution("09")


def _check(max_norm):
    if not isinstance(max_norm, float):
        raise TypeError(f"max_norm must be a float, got {type(max_norm).__name__}")
    _ref._check_max_norm(max_norm)


def clip_gradient_hook(max_norm):
    _check(max_norm)
    return _ref.clip_gradient_hook(max_norm)


def clip_parameter_gradients(module, max_norm):
    _check(max_norm)
    return _ref.clip_parameter_gradients(module, max_norm)
