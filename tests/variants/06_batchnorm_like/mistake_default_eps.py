"""Mistake: the default eps is 1e-3 instead of BatchNorm1d's 1e-5."""

import inspect

from kata_runner.testing import solution

EXPECT = 'eps=1e-5'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'eps: float = 1e-5',
        'eps: float = 1e-3',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
