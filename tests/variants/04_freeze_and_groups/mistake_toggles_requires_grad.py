"""Mistake: freeze toggles requires_grad (p.requires_grad = not p.requires_grad), unfreezing what was already frozen."""

from kata_runner.testing import solution

EXPECT = "do not toggle"
_ref = solution("04")
unfreeze, param_groups, count_parameters = _ref.unfreeze, _ref.param_groups, _ref.count_parameters


def freeze(model, prefixes):
    prefixes = list(prefixes)
    named = list(model.named_parameters())
    for p in prefixes:
        if not any(_ref._matches(name, p) for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    changed = []
    for name, param in named:
        if any(_ref._matches(name, p) for p in prefixes):
            param.requires_grad = not param.requires_grad
            if not param.requires_grad:
                changed.append(name)
    return sorted(changed)
