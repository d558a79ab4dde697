"""Mistake: each prefix is applied as soon as it is checked, so a typo later in the list raises after earlier
prefixes have already been frozen."""

from kata_runner.testing import solution

EXPECT = "before changing anything"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    named = list(model.named_parameters())
    changed = set()
    for p in prefixes:
        hits = [(name, param) for name, param in named if _ref._matches(name, p)]
        if not hits:
            raise ValueError(f"no parameter matches {p!r}")
        for name, param in hits:
            if param.requires_grad != flag:
                param.requires_grad_(flag)
                changed.add(name)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
