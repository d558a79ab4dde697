"""Mistake: the input is centred in place (x.sub_), overwriting the caller's tensor."""

import inspect

from kata_runner.testing import solution

EXPECT = 'changed the input tensor in place'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'x_hat = (x - mean.reshape(shape))',
        'x_hat = (x.sub_(mean.reshape(shape)) if not x.requires_grad else x - mean.reshape(shape))',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
