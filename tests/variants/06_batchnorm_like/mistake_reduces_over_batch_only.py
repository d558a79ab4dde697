"""Mistake: for (N, C, L) input the statistics are taken over dimension 0 only (per feature AND position), not over all N
* L values of each feature."""

import inspect

from kata_runner.testing import solution

EXPECT = 'dimension 2 for (N, C, L)'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'dims = (0, *range(2, x.dim()))',
        'dims = (0,)',
    ),
    (
        'self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)',
        'self.running_mean.mul_(1 - factor).add_(mean.reshape(self.num_features, -1).mean(1), alpha=factor)',
    ),
    (
        'add_(var * (count / (count - 1)), alpha=factor)',
        'add_((var * (count / (count - 1))).reshape(self.num_features, -1).mean(1), alpha=factor)',
    ),
    (
        'x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)',
        'x_hat = (x - (mean if self.training else mean.reshape(shape))) / torch.sqrt((var if self.training else var.reshape(shape)) + self.eps)',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
