"""Mistake: the input is converted to float32 first, so float64, float16 and bfloat16 inputs get a float32 output."""

import inspect

from kata_runner.testing import solution

EXPECT = "keep the input's dtype"

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        '        dims = (0, *range',
        '        x = x.float()\n        dims = (0, *range',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
