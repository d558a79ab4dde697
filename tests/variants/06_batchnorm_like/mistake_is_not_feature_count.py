"""Mistake: the feature count is compared with `is not`: true for equal ints above 256 (distinct objects), so valid input
with 300 features is refused."""

import inspect

from kata_runner.testing import solution

EXPECT = 'compare sizes with =='

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'if x.shape[1] != self.num_features:',
        'if x.shape[1] is not self.num_features:',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
