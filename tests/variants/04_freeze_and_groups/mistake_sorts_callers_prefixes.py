"""Mistake: freeze sorts the caller's list of prefixes in place (longest first) instead of working on a copy."""

from kata_runner.testing import solution

EXPECT = "caller's list"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    if not isinstance(prefixes, list):
        prefixes = list(prefixes)
    prefixes.sort(key=len, reverse=True)
    return _ref._set_requires_grad(model, prefixes, flag)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
