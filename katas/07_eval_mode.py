"""Kata 07: train and eval mode, restored exactly.

Every nn.Module carries a `training` flag. A few layers behave differently depending on it:
Dropout zeroes activations only in training mode, and BatchNorm normalises with the batch's own
statistics (and updates its running_mean / running_var buffers) in training mode, but with the
stored running statistics in eval mode. `model.eval()` sets training=False on the model and on
every submodule; `model.train()` sets training=True on every submodule. Neither remembers what
each submodule had before.

Write two helpers that run a model for inference and then put it back EXACTLY as it was.

The contract (what `kata check 07` holds you to):

`predict(model, x)`
- Returns the tensor `model(x)` computed with every submodule in eval mode: Dropout is off,
  BatchNorm normalises with (and never updates) running_mean / running_var / num_batches_tracked.
  `model` is any nn.Module tree: nested containers, subclasses of built-in layers, modules that
  forward never calls, layers without parameters. `x` is whatever the model accepts (a batch of
  one included), in the model's dtype (float16, bfloat16, float32, float64) and device, contiguous
  or not. Never modify `x`. Calling predict twice gives the same result.
- The forward runs with autograd OFF (a module sees torch.is_grad_enabled() == False), so the
  output has no grad_fn and does not require grad. torch.no_grad() and torch.inference_mode() both
  qualify; detaching the output afterwards does not (the graph was already built).
- Afterwards every submodule's OWN training flag is exactly what it was before the call (training
  models, eval models, a frozen BatchNorm inside a training model, any mix), and grad mode is what
  the caller had: enabled, or still disabled if the caller was under torch.no_grad().
- If the model raises, whether an Exception or a BaseException such as KeyboardInterrupt or
  SystemExit, that very exception propagates out of predict (not swallowed, not wrapped in
  another), and the flags and grad mode are restored all the same.

`evaluating(model)`, a context manager with the same guarantee, for longer blocks:

      with evaluating(model) as m:   # m is the model itself
          logits = m(x)              # eval mode, no autograd
      # here every submodule's training flag is back to what it was, and grad mode too

- Inside the block every submodule is in eval mode and autograd is off
  (torch.is_grad_enabled() is False): evaluating() disables autograd, not only predict.
- On leaving the block every submodule's training flag is set back to what it was BEFORE the
  block, also for flags the block itself changed (say it called model.train()), and grad mode is
  what the caller had.
- When the block raises (directly, or through the model's forward), Exception or BaseException,
  that very exception propagates out of the with statement, and flags and grad mode are restored.
- Blocks nest: leaving an inner `with evaluating(model):` keeps the outer block's eval mode and
  no-grad; leaving the outer one restores what was there before it. Keep the recorded flags per
  call (a local variable), never in shared state.

Why "exactly"? The seed notebook's `inference()` ends with `model.train()`. That is right only
for a model that was entirely in training mode. It flips a model that was in eval mode back to
training (validation after loading a checkpoint suddenly has Dropout on), and it un-freezes a
BatchNorm that was deliberately kept in eval inside a training model (fine-tuning with frozen
BatchNorm statistics), so its running statistics start drifting. Record every submodule's flag
before, and restore each one afterwards, in a `finally:` block (`except Exception:` misses
KeyboardInterrupt, which is a BaseException).

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
