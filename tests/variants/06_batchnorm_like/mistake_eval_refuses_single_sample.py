"""Mistake: the single-value check runs in eval mode too, so one sample cannot be evaluated."""

import inspect

from kata_runner.testing import solution

EXPECT = 'a single sample included'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        '        if self.training:\n            # TODO 4.',
        "        if x.numel() // self.num_features < 2:\n            raise ValueError('need more than 1 value per channel')\n        if self.training:\n            # TODO 4.",
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
