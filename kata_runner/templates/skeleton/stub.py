"""Kata __KATA_ID__: __KATA_TITLE__.

TODO (author): why this kata matters, in a few sentences a learner reads before starting.

The contract (`kata check __KATA_ID__` holds you to exactly this):

- TODO (author): every promise the checks enforce: input and argument domains, what is returned and
  never modified, errors, autograd, structure. The checks' contract clauses follow this list.
"""

import torch
from torch import nn


class __KATA_CLASS__(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # TODO: build what the contract asks for.
        raise NotImplementedError("__KATA_CLASS__.__init__")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: compute what the contract promises.
        raise NotImplementedError("__KATA_CLASS__.forward")
