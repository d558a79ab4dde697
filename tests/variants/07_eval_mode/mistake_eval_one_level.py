"""Mistake: eval mode is set by hand on the model and its direct children only, so nested
submodules keep training inside the block."""

from contextlib import contextmanager

import torch

EXPECT = "still in training mode"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.training = False
    for child in model.children():
        child.training = False
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
