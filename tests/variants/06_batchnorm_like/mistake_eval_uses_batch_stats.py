"""Mistake: eval mode still normalises with the batch statistics (the running ones are kept but unused)."""

import inspect

from kata_runner.testing import solution

EXPECT = 'in eval mode normalise with the running statistics'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'mean, var = self.running_mean, self.running_var',
        'mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
