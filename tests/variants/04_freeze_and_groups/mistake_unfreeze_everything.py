"""Mistake: unfreeze switches the whole model back on (model.requires_grad_(True)) instead of only the prefixes."""

from kata_runner.testing import solution

EXPECT = "only under the prefixes"
_ref = solution("04")
freeze, param_groups, count_parameters = _ref.freeze, _ref.param_groups, _ref.count_parameters


def unfreeze(model, prefixes):
    prefixes = list(prefixes)
    named = list(model.named_parameters())
    for p in prefixes:
        if not any(_ref._matches(name, p) for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    changed = sorted(name for name, param in named if not param.requires_grad
                     and any(_ref._matches(name, p) for p in prefixes))
    model.requires_grad_(True)
    return changed
