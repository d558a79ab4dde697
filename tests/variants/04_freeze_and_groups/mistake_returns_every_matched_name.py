"""Mistake: freeze/unfreeze return every name under the prefixes, including those already in the requested state."""

from kata_runner.testing import solution

EXPECT = "actually flipped"
_ref = solution("04")
param_groups, count_parameters = _ref.param_groups, _ref.count_parameters


def _set(model, prefixes, flag):
    prefixes = list(prefixes)
    named = list(model.named_parameters())
    for p in prefixes:
        if not any(_ref._matches(name, p) for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    matched = []
    for name, param in named:
        if any(_ref._matches(name, p) for p in prefixes):
            param.requires_grad_(flag)
            matched.append(name)
    return sorted(matched)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)
