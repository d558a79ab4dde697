"""Kata 11, reference solution: initialising weights with model.apply().

See katas/11_init_weights.py for the task. The comments below explain each step.
"""

from __future__ import annotations

from torch import nn

# The layer types each rule applies to. isinstance (not hasattr(m, "weight")) keeps every other
# module, and every custom Parameter, out of reach; unlike `type(m) in ...` it also covers subclasses
# (nn.MultiheadAttention's out_proj is a subclass of nn.Linear). Conv3d, GroupNorm, InstanceNorm and
# the like are deliberately not in these tuples: they are left as they are.
KAIMING_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)


def init_weights(module: nn.Module) -> None:
    """Initialise one module in place, for use as `model.apply(init_weights)`."""
    # model.apply calls this once per submodule, so it only handles `module` itself: no recursion.
    if isinstance(module, KAIMING_LAYERS):
        # std = sqrt(2 / fan_out): fan_out = out_features, or out_channels * kernel size. The ReLU
        # gain sqrt(2) makes up for the half of the signal that ReLU zeroes. nn.init functions
        # work in place under no_grad (and restore the caller's grad mode afterwards): the
        # Parameter (device, dtype, optimizer references, weights shared with another layer) stays.
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        # bias=False registers the bias as None: there is nothing to initialise then.
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, NORM_LAYERS):
        # Identity scale and no shift: the layer starts as a plain normalisation. affine=False
        # (elementwise_affine=False) leaves both None, LayerNorm(bias=False) only the bias.
        # Only the parameters: module.reset_parameters() would also reset BatchNorm's running
        # statistics (buffers), which are not ours to touch.
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    # Anything else (containers, Embedding, custom modules and their Parameters) is left alone.
