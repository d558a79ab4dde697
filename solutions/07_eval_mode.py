"""Kata 07, reference solution: train and eval mode, restored exactly.

See katas/07_eval_mode.py for the task. The comments below explain each step.
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
    # Snapshot every submodule's own flag, not just model.training: a training model may hold a
    # frozen BatchNorm in eval, and an eval model must stay in eval.
    # `saved` is local to this call, so nested blocks each keep their own record.
    saved = [(module, module.training) for module in model.modules()]
    try:
        # eval() recurses into every submodule (Dropout off, BatchNorm uses its running stats).
        model.eval()
        # no_grad restores the previous grad mode itself when the block exits, even on an error,
        # and leaves a caller's own torch.no_grad() in force (never force grad mode back on).
        with torch.no_grad():
            yield model
    finally:
        # Set each flag directly: module.train(flag) would recurse and overwrite the children.
        # The finally: runs when the body raises too, even a KeyboardInterrupt or SystemExit (which
        # `except Exception:` would miss); the exception then propagates unchanged. Whatever the
        # body did to the flags (model.train(), say) is undone, since every flag is set back.
        for module, was_training in saved:
            module.training = was_training


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """model(x) in eval mode without autograd; every submodule's training flag restored afterwards."""
    # Reuse the context manager, so predict gets the same exact restore and exception safety.
    with evaluating(model):
        return model(x)
