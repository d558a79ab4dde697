"""Mistake: each module's _buffers read without remembering the tensors already listed, so a buffer
shared by two modules is listed under both names."""

from kata_runner.testing import solution

EXPECT = "shared buffer"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["buffers"], result["non_persistent_buffers"] = [], []
    for prefix, sub in module.named_modules():
        for name, buf in sub._buffers.items():
            if buf is not None:
                key = "non_persistent_buffers" if name in sub._non_persistent_buffers_set else "buffers"
                result[key].append(f"{prefix}.{name}" if prefix else name)
    return {key: sorted(names) for key, names in result.items()}
