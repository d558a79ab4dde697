"""Mistake: a bare `yield`, so `with evaluating(model) as m:` binds m to None."""

from contextlib import contextmanager

import torch

EXPECT = "yield the model itself"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
