"""Mistake: the batch statistics are detached, so no gradient flows through mean and var."""

import inspect

from kata_runner.testing import solution

EXPECT = 'gradients must flow'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'mean = x.mean(dim=dims)\n',
        'mean = x.mean(dim=dims).detach()\n',
    ),
    (
        'var = x.var(dim=dims, unbiased=False)\n',
        'var = x.var(dim=dims, unbiased=False).detach()\n',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
