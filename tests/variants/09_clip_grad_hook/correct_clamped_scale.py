"""Correct: branch-free scale factor min(1, max_norm / (norm + eps)), validation with `not max_norm > 0`."""

import torch


def _scaled(grad, max_norm):
    norm = torch.linalg.vector_norm(grad)
    return grad * (max_norm / (norm + 1e-12)).clamp(max=1.0)


def clip_gradient_hook(max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")

    def hook(module, grad_input, grad_output):
        return tuple(_scaled(g, max_norm) if g is not None else None for g in grad_input)

    return hook


def clip_parameter_gradients(module, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    trainable = [p for p in module.parameters() if p.requires_grad]
    return [p.register_hook(lambda g: _scaled(g, max_norm)) for p in trainable]
