"""Mistake: only the model and its direct children are recorded: deeper submodules stay in eval."""

from contextlib import contextmanager

import torch

EXPECT = "not restored exactly"


@contextmanager
def evaluating(model):
    saved = [(model, model.training)] + [(child, child.training) for child in model.children()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
