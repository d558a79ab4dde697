"""Mistake: the weight is applied detached, so backward never reaches it and an optimizer cannot train it."""

import inspect

from kata_runner.testing import solution

EXPECT = 'backward must reach them'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'x_hat * self.weight.reshape(shape)',
        'x_hat * self.weight.detach().reshape(shape)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
