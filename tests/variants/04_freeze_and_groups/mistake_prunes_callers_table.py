"""Mistake: param_groups deletes the prefixes that match nothing from the caller's lr_by_prefix dict."""

from kata_runner.testing import solution

EXPECT = "lr_by_prefix dict"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    for prefix in list(lr_by_prefix):
        if not any(_ref._matches(name, prefix) for name in names):
            del lr_by_prefix[prefix]
    return _ref.param_groups(model, lr_by_prefix, default_lr)
