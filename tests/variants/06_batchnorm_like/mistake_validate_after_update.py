"""Mistake: the training batch is counted before the single-value check, as BatchNorm1d does, so a refused batch still
moves num_batches_tracked."""

import inspect

from kata_runner.testing import solution

EXPECT = 'validate the input first'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        '            count = x[:, 0].numel()\n',
        '            count = x[:, 0].numel()\n            self.num_batches_tracked += 1\n',
    ),
    (
        '                self.num_batches_tracked += 1\n                factor',
        '                factor',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
