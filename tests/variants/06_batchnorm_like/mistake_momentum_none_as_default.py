"""Mistake: momentum=None is treated as the default 0.1 instead of a cumulative average."""

import inspect

from kata_runner.testing import solution

EXPECT = 'cumulative average'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        '1.0 / float(self.num_batches_tracked)',
        '0.1',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
