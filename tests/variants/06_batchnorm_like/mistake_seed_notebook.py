"""Mistake: the seed notebook's version: normalises with the unbiased variance, and computes the running statistics from
tensors still in the graph, so the buffers keep autograd history (every past batch stays alive)."""

import inspect

from kata_runner.testing import solution

EXPECT = 'autograd history'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'var = x.var(dim=dims, unbiased=False)\n',
        'var = x.var(dim=dims)\n',
    ),
    (
        'with torch.no_grad():\n',
        'if True:\n',
    ),
    (
        'self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)',
        'self.running_mean = (1 - factor) * self.running_mean + factor * mean',
    ),
    (
        'self.running_var.mul_(1 - factor).add_(var * (count / (count - 1)), alpha=factor)',
        'self.running_var = (1 - factor) * self.running_var + factor * var',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
