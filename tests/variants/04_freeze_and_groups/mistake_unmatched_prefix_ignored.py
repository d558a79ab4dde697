"""Mistake: a prefix that matches nothing (a typo) is silently ignored instead of raising ValueError."""

from kata_runner.testing import solution

EXPECT = "matches no parameter name"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    changed = []
    for name, param in model.named_parameters():
        if any(_ref._matches(name, p) for p in prefixes) and param.requires_grad != flag:
            param.requires_grad_(flag)
            changed.append(name)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
