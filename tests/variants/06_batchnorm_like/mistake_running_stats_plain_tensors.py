"""Mistake: running statistics kept as plain tensor attributes: not in state_dict, not moved or cast."""

from kata_runner.testing import solution

EXPECT = "not a registered buffer"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            value = self._buffers.pop(name)
            setattr(self, name, value)  # no longer in _buffers: a plain attribute
