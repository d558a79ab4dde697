"""Correct: torch.func.vmap maps a one-row normalisation over the flattened leading dimensions."""

import torch
from torch import nn
from torch.func import vmap


class LearnedNorm(nn.Module):
    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.register_parameter("learned_mean", nn.Parameter(torch.zeros(num_features)))
        self.register_parameter("learned_std", nn.Parameter(torch.ones(num_features)))

    def forward(self, x):
        def row(v, mean, std):
            return (v - mean) / (std + self.eps)

        flat = x.reshape(-1, self.num_features)
        return vmap(row, in_dims=(0, None, None))(flat, self.learned_mean, self.learned_std).reshape(x.shape)
