"""Mistake: names registered as None (bias=False, register_buffer(name, None)) are listed."""

from kata_runner.testing import solution

EXPECT = "registered as None"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    for prefix, sub in module.named_modules():
        for registry, key in ((sub._parameters, "parameters"), (sub._buffers, "buffers")):
            for name, value in registry.items():
                if value is None:
                    result[key].append(f"{prefix}.{name}" if prefix else name)
    return {key: sorted(names) for key, names in result.items()}
