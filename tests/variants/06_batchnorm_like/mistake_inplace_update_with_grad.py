"""Mistake: the running statistics are updated in place but outside torch.no_grad(): the in-place add of a statistic that
requires grad gives each buffer a grad_fn linking back to the batch."""

import inspect

from kata_runner.testing import solution

EXPECT = 'autograd history'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'with torch.no_grad():\n',
        'if True:\n',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
