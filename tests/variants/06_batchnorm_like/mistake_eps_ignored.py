"""Mistake: eps is taken from the default, not from the constructor argument."""

import inspect

from kata_runner.testing import solution

EXPECT = 'eps given to the constructor'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'self.eps = eps\n',
        'self.eps = 1e-5\n',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
