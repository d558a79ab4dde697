"""Mistake: non-persistent buffers read from the root's _non_persistent_buffers_set only, so those
registered with persistent=False inside submodules are missed (and not listed anywhere)."""

from kata_runner.testing import solution

EXPECT = "persistent=False"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["non_persistent_buffers"] = sorted(
        name for name, buf in module._buffers.items() if buf is not None and name in module._non_persistent_buffers_set
    )
    return result
