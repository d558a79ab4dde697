"""Mistake: grad mode is switched back on at the end instead of restored, which breaks callers that
were already under torch.no_grad()."""

from contextlib import contextmanager

import torch

EXPECT = "do not force it on"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    torch.set_grad_enabled(False)
    try:
        yield model
    finally:
        torch.set_grad_enabled(True)
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
