"""Correct: the norm is computed in float64, the scale chosen with torch.where, and the result cast back;
validation with math.isnan; parameters from named_parameters(); hooks built by a factory function."""

import math

import torch


def _validate(max_norm):
    if math.isnan(max_norm) or max_norm <= 0:
        raise ValueError(f"max_norm must be a positive number, got {max_norm}")


def _clip(grad, max_norm):
    norm = torch.linalg.vector_norm(grad, dtype=torch.float64)
    scale = torch.where(norm > max_norm, max_norm / norm, torch.ones_like(norm))
    return (grad.double() * scale).to(grad.dtype)


def clip_gradient_hook(max_norm):
    _validate(max_norm)

    def hook(module, grad_input, grad_output):
        return tuple(map(lambda g: None if g is None else _clip(g, max_norm), grad_input))

    return hook


def _tensor_hook(max_norm):
    return lambda grad: _clip(grad, max_norm)


def clip_parameter_gradients(module, max_norm):
    _validate(max_norm)
    return [param.register_hook(_tensor_hook(max_norm)) for _, param in module.named_parameters()
            if param.requires_grad]
