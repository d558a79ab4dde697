"""Mistake: num_batches_tracked is incremented on every forward, eval ones included."""

import inspect

from kata_runner.testing import solution

EXPECT = 'add 1 per training forward'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        '        if self.training:\n            # TODO 4.',
        '        with torch.no_grad():\n            self.num_batches_tracked += 1\n        if self.training:\n            # TODO 4.',
    ),
    (
        '                self.num_batches_tracked += 1\n',
        '',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
