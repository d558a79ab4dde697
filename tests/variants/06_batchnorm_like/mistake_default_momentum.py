"""Mistake: the default momentum is 0.9 (the optimizer convention) instead of BatchNorm1d's 0.1."""

import inspect

from kata_runner.testing import solution

EXPECT = 'momentum=0.1'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'momentum: float | None = 0.1',
        'momentum: float | None = 0.9',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
