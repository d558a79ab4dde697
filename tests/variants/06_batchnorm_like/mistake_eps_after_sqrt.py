"""Mistake: eps added after the square root, (x - mean) / (sqrt(var) + eps)."""

import inspect

from kata_runner.testing import solution

EXPECT = 'inside the square root'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'torch.sqrt(var.reshape(shape) + self.eps)',
        '(torch.sqrt(var.reshape(shape)) + self.eps)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
