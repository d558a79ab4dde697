"""Mistake: num_batches_tracked is a float buffer, so .half() casts it and it is not BatchNorm1d's int64."""

import inspect

from kata_runner.testing import solution

EXPECT = 'integer counter'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'torch.tensor(0, dtype=torch.long)',
        'torch.tensor(0.0)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
