"""Mistake: the values are counted through x.view(-1), which refuses non-contiguous input."""

import inspect

from kata_runner.testing import solution

EXPECT = 'use reshape'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'count = x[:, 0].numel()',
        'count = x.view(-1).shape[0] // self.num_features',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
