"""Mistake: every tensor argument is normalised, not just the first positional one."""

import torch

EXPECT = "leave the other positional arguments untouched"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        return tuple((a - a.mean()) / (a.std() + eps) if torch.is_tensor(a) else a for a in args)

    return module.register_forward_pre_hook(hook)
