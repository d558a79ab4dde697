"""Mistake: only torch.no_grad(); the model stays in training mode, so Dropout and BatchNorm still train."""

from contextlib import contextmanager

import torch

EXPECT = "Dropout is still active"


@contextmanager
def evaluating(model):
    with torch.no_grad():
        yield model


def predict(model, x):
    with evaluating(model):
        return model(x)
