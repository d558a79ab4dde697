"""Mistake: momentum applied the wrong way round: running = momentum * running + (1 - momentum) * batch."""

import inspect

from kata_runner.testing import solution

EXPECT = 'wrong way round'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'mul_(1 - factor).add_(mean, alpha=factor)',
        'mul_(factor).add_(mean, alpha=1 - factor)',
    ),
    (
        'mul_(1 - factor).add_(var * (count / (count - 1)), alpha=factor)',
        'mul_(factor).add_(var * (count / (count - 1)), alpha=1 - factor)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
