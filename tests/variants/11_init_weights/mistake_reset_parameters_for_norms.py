"""Mistake: norm layers re-initialised with module.reset_parameters(), which also resets BatchNorm's
running statistics."""


from kata_runner.testing import solution

EXPECT = "running statistics"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.NORM_LAYERS):
        module.reset_parameters()
    else:
        _ref.init_weights(module)
