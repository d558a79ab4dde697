"""Correct: mean as sum / numel, std as the square root of the unbiased variance; the keyword name read
from forward's code object."""

import torch


def attach_input_normalizer(module, eps=1e-5):
    name = module.forward.__code__.co_varnames[1]

    def standardise(x):
        mean = x.sum() / x.numel()
        return (x - mean) / (torch.sqrt(x.var(unbiased=True)) + eps)

    def hook(module, args, kwargs):
        new_args, new_kwargs = list(args), dict(kwargs)
        if new_args:
            new_args[0] = standardise(new_args[0])
        elif name in new_kwargs:
            new_kwargs[name] = standardise(new_kwargs[name])
        return tuple(new_args), new_kwargs

    return module.register_forward_pre_hook(hook, with_kwargs=True)
