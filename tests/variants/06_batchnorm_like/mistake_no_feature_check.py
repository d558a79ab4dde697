"""Mistake: no check of x.shape[1]: input with one feature broadcasts against the (C,) statistics and quietly returns a
wrong result."""

import inspect

from kata_runner.testing import solution

EXPECT = 'x.shape[1] == num_features'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'if x.shape[1] != self.num_features:',
        'if False:',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
