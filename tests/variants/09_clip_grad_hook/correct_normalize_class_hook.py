"""Correct: a long gradient is F.normalize(g) * max_norm (the same direction at norm max_norm), the hook is
an object with __call__, parameters are collected in a dict keyed by identity, validation with
isinstance and `not max_norm > 0`."""

import torch.nn.functional as F


def _check(max_norm):
    if not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ValueError(f"max_norm must be a number > 0, got {max_norm!r}")


def _clip(grad, max_norm):
    if float(grad.norm()) <= max_norm:
        return grad
    flat = F.normalize(grad.reshape(1, -1), dim=1)
    return (flat * max_norm).reshape(grad.shape)


class ClipInputs:
    def __init__(self, max_norm):
        self.max_norm = max_norm

    def __call__(self, module, grad_input, grad_output):
        return tuple(g if g is None else _clip(g, self.max_norm) for g in grad_input)


def clip_gradient_hook(max_norm):
    _check(max_norm)
    return ClipInputs(max_norm)


def clip_parameter_gradients(module, max_norm):
    _check(max_norm)
    trainable = {id(p): p for p in module.parameters(recurse=True) if p.requires_grad}
    return [p.register_hook(lambda g, m=max_norm: _clip(g, m)) for p in trainable.values()]
