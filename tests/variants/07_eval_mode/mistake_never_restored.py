"""Mistake: eval mode and no_grad, but the training flags are never restored."""

from contextlib import contextmanager

import torch

EXPECT = "left in eval mode"


@contextmanager
def evaluating(model):
    model.eval()
    with torch.no_grad():
        yield model


def predict(model, x):
    with evaluating(model):
        return model(x)
