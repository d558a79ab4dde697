"""Mistake: torch.set_grad_enabled(False) switches autograd off for good instead of for the block."""

from contextlib import contextmanager

import torch

EXPECT = "autograd is still disabled"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    torch.set_grad_enabled(False)
    try:
        yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
