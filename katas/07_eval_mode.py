"""Kata 07: train and eval mode, restored exactly.

Every nn.Module carries a `training` flag. A few layers behave differently depending on it:
Dropout zeroes activations only in training mode, and BatchNorm normalises with the batch's own
statistics (and updates its running_mean / running_var buffers) in training mode, but with the
stored running statistics in eval mode. `model.eval()` sets training=False on the model and on
every submodule; `model.train()` sets training=True on every submodule. Neither remembers what
each submodule had before.

Write two helpers that run a model for inference and then put it back EXACTLY as it was:

- `predict(model, x)` returns `model(x)` computed in eval mode without autograd: Dropout is off,
  BatchNorm uses (and does not update) its running statistics, and the output carries no grad_fn.
  Afterwards every submodule's own `training` flag is what it was before the call, and autograd is
  enabled again if it was enabled before.
- `evaluating(model)` is a context manager with the same guarantee, for longer blocks:

      with evaluating(model) as m:   # m is the model itself
          logits = m(x)              # eval mode, no autograd
      # here every submodule's training flag is back to what it was

  The flags are restored also when the body raises, and the exception is not swallowed.

Why "exactly"? The seed notebook's `inference()` ends with `model.train()`. That is right only
for a model that was entirely in training mode. It flips a model that was in eval mode back to
training (validation after loading a checkpoint suddenly has Dropout on), and it un-freezes a
BatchNorm that was deliberately kept in eval inside a training model (fine-tuning with frozen
BatchNorm statistics), so its running statistics start drifting. Record every submodule's flag
before, and restore each one afterwards, in a `finally:` block.

Setting `model.training = False` is not the same as `model.eval()`: the attribute only changes
the top module, while eval() walks every submodule.

Run `kata check 07` to grade this file, `kata hint 07` when stuck.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Inside the block: every submodule in eval mode and autograd off. Yields `model`.

    On leaving the block, normally or through an exception, every submodule's `training` flag is
    restored to exactly what it was, and grad mode is restored too. Exceptions propagate.
    """
    # TODO: record each submodule's flag ({m: m.training for m in model.modules()}), call
    #       model.eval(), then `yield model` inside torch.no_grad(), in a try: whose finally:
    #       sets every recorded module's .training back (do not call model.train()).
    raise NotImplementedError("evaluating: switch to eval + no_grad, yield the model, restore every flag")


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """model(x) in eval mode without autograd; every submodule's training flag restored afterwards."""
    # TODO: compute model(x) in eval mode under torch.no_grad(), then restore each submodule's own
    #       training flag (evaluating() above does exactly this).
    raise NotImplementedError("predict: run model(x) in eval mode without autograd, then restore the flags")
