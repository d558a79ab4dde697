"""Mistake: the hook switches grad mode on ("so that gradients reach x"), even under torch.no_grad()."""

import torch

EXPECT = "grad mode"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        torch.set_grad_enabled(True)
        x = args[0]
        return ((x - x.mean()) / (x.std() + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
