"""Mistake: modules inside plain lists are walked as if registered, so their parameters are listed."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "not part of the tree"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    for prefix, sub in module.named_modules():
        for name, value in vars(sub).items():
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, nn.Module):
                        path = f"{prefix}.{name}.{i}" if prefix else f"{name}.{i}"
                        result["submodules"].append(path)
                        result["parameters"] += [f"{path}.{n}" for n, _ in item.named_parameters()]
    return {key: sorted(names) for key, names in result.items()}
