"""Correct: torch.var_mean with correction=0 over a dims tuple, the unbiased estimate by Bessel's factor,
statistics and parameters broadcast with view-free indexing (None), the affine step via addcmul."""

import torch

from kata_runner.testing import solution

_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if x.dim() != 2 and x.dim() != 3:
            raise ValueError("BatchNormLike expects (N, C) or (N, C, L)")
        if x.shape[1] != self.num_features:
            raise ValueError("wrong number of features")
        dims = tuple(d for d in range(x.dim()) if d != 1)
        index = (None, slice(None)) + (None,) * (x.dim() - 2)
        if self.training:
            count = x.numel() // x.shape[1]
            if count == 1:
                raise ValueError("Expected more than 1 value per channel when training")
            var, mean = torch.var_mean(x, dim=dims, correction=0)
            bessel = count / (count - 1)
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked.item()
                self.running_mean.copy_((1 - m) * self.running_mean + m * mean)
                self.running_var.copy_((1 - m) * self.running_var + m * bessel * var)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean[index]) / (var[index] + self.eps).sqrt()
        return torch.addcmul(self.bias[index], x_hat, self.weight[index])
