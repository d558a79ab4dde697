"""Mistake: eps added to the variance, sqrt(var + eps), instead of to the std."""

import torch

EXPECT = "x.std() + eps"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        return ((x - x.mean()) / torch.sqrt(x.var() + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
