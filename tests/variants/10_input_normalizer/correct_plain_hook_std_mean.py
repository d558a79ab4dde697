"""Correct: a plain pre-hook (no with_kwargs, so kwargs pass through on their own), torch.std_mean."""

import torch


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        if not args:
            return None
        std, mean = torch.std_mean(args[0])
        return ((args[0] - mean) / (std + eps),) + tuple(args[1:])

    return module.register_forward_pre_hook(hook)
