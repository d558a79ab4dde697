"""Mistake: training refuses two values per feature (count <= 2), although their variance is defined."""

import inspect

from kata_runner.testing import solution

EXPECT = 'only one value is refused'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'if count < 2:\n',
        'if count <= 2:\n',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
