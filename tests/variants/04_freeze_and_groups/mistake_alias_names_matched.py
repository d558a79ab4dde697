"""Mistake: freeze/unfreeze walk named_parameters(remove_duplicate=False), so a prefix that reaches a shared
parameter only through its second name (decoder.weight tied to embed.weight) still flips it."""

from kata_runner.testing import solution

EXPECT = "under its first name"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    prefixes = list(prefixes)
    named = list(model.named_parameters(remove_duplicate=False))
    for p in prefixes:
        if not any(_ref._matches(name, p) for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    changed = []
    for name, param in named:
        if any(_ref._matches(name, p) for p in prefixes) and param.requires_grad != flag:
            param.requires_grad_(flag)
            changed.append(name)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
