"""Mistake: no check for a training batch of one value per feature: the unbiased variance divides by M - 1 = 0 and puts
nan into running_var instead of raising ValueError as BatchNorm1d does."""

import inspect

from kata_runner.testing import solution

EXPECT = 'did not raise ValueError'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'if count < 2:\n',
        'if False:\n',
    ),
    (
        'add_(var * (count / (count - 1)), alpha=factor)',
        'add_(x.var(dim=dims), alpha=factor)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
