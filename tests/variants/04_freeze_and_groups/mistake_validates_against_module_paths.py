"""Mistake: a prefix is accepted when it names any module (named_modules()), so the path of a module without
parameters (an activation, BatchNorm without affine) or a buffer's name is not reported as a typo."""

from kata_runner.testing import solution

EXPECT = "matches no parameter name"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    prefixes = list(prefixes)
    known = [name for name, _ in model.named_modules()] + list(model.state_dict())
    for p in prefixes:
        if not any(_ref._matches(name, p) for name in known):
            raise ValueError(f"nothing in the model is named {p!r}")
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
