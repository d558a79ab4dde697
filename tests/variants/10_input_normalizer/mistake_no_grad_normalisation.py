"""Mistake: the normalisation runs under torch.no_grad() ("statistics need no gradient"), cutting x off."""

import torch

EXPECT = "gradients do not flow back"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        with torch.no_grad():
            normalised = (x - x.mean()) / (x.std() + eps)
        return (normalised, *args[1:])

    return module.register_forward_pre_hook(hook)
