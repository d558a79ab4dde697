"""Mistake: running_var is updated with the biased batch variance instead of the unbiased one."""

import inspect

from kata_runner.testing import solution

EXPECT = 'unbiased variance'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'add_(var * (count / (count - 1)), alpha=factor)',
        'add_(var, alpha=factor)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
