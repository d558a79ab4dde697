"""Mistake: `model.training = False` instead of model.eval(): only the top module changes mode."""

from contextlib import contextmanager

import torch

EXPECT = "changes only the top module"


@contextmanager
def evaluating(model):
    was_training = model.training
    model.training = False
    try:
        with torch.no_grad():
            yield model
    finally:
        model.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
