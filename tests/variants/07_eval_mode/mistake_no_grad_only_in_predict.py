"""Mistake: predict disables autograd, but evaluating() only switches to eval mode."""

from contextlib import contextmanager

import torch

EXPECT = "evaluating() must disable autograd"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model), torch.no_grad():
        return model(x)
