"""Correct: torch.std_mean, and forward's first parameter looked up on each call."""

import inspect

import torch


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        name = list(inspect.signature(module.forward).parameters)[0]
        if not args and name not in kwargs:
            return None
        x = args[0] if args else kwargs[name]
        std, mean = torch.std_mean(x)
        x = (x - mean) / (std + eps)
        if args:
            return (x,) + tuple(args[1:]), kwargs
        return (), {**kwargs, name: x}

    return module.register_forward_pre_hook(hook, with_kwargs=True)
