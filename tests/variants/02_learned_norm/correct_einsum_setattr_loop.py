"""Correct: parameters created by setattr in a loop; forward scales by the reciprocal with einsum."""

import torch
from torch import nn


class LearnedNorm(nn.Module):
    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        for name, fill in (("learned_mean", 0.0), ("learned_std", 1.0)):
            setattr(self, name, nn.Parameter(torch.full((num_features,), fill)))

    def forward(self, x):
        return torch.einsum("...f,f->...f", x - self.learned_mean, (self.learned_std + self.eps).reciprocal())
