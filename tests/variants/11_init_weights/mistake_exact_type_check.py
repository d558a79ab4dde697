"""Mistake: dispatch on type(module) in (...), which skips subclasses of the layers (MultiheadAttention's out_proj)."""


from kata_runner.testing import solution

EXPECT = "subclass of a built-in layer"
_ref = solution("11")


def init_weights(module):
    if type(module) in _ref.KAIMING_LAYERS + _ref.NORM_LAYERS:
        _ref.init_weights(module)
