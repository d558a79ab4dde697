"""Mistake: freeze/unfreeze swap in new Parameter objects with the new flag instead of changing the flag in place,
so an optimizer built before keeps the old ones."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "in place"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    prefixes = list(prefixes)
    named = list(model.named_parameters())
    for p in prefixes:
        if not any(_ref._matches(name, p) for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    changed = []
    for name, param in named:
        if any(_ref._matches(name, p) for p in prefixes) and param.requires_grad != flag:
            path, _, attr = name.rpartition(".")
            setattr(model.get_submodule(path), attr, nn.Parameter(param.detach(), requires_grad=flag))
            changed.append(name)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
