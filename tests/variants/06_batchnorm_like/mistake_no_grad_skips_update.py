"""Mistake: the running statistics are only updated when grad mode is on, so a training forward under torch.no_grad() does
not update them."""

import inspect

from kata_runner.testing import solution

EXPECT = 'not training mode'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        '            with torch.no_grad():\n                self.num_batches_tracked += 1\n',
        '            update = torch.is_grad_enabled()\n            with torch.no_grad():\n                self.num_batches_tracked += int(update)\n',
    ),
    (
        'add_(mean, alpha=factor)',
        'add_(mean, alpha=factor if update else 0.0)',
    ),
    (
        'add_(var * (count / (count - 1)), alpha=factor)',
        'add_(var * (count / (count - 1)), alpha=factor if update else 0.0)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
