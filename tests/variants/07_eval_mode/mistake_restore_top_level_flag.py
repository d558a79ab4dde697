"""Mistake: only model.training is recorded, and model.train(flag) restores it to every submodule,
un-freezing a BatchNorm kept in eval inside a training model."""

from contextlib import contextmanager

import torch

EXPECT = "frozen BatchNorm"


@contextmanager
def evaluating(model):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def predict(model, x):
    with evaluating(model):
        return model(x)
