"""Mistake: the prefixes are iterated twice (once to validate, once to apply): a generator is empty the second time."""

from kata_runner.testing import solution

EXPECT = "iterate it once"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    named = list(model.named_parameters())
    for p in prefixes:
        if not any(_ref._matches(name, p) for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    changed = set()
    for p in prefixes:
        for name, param in named:
            if _ref._matches(name, p) and param.requires_grad != flag:
                param.requires_grad_(flag)
                changed.add(name)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
