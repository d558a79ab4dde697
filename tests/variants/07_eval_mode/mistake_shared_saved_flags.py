"""Mistake: the recorded flags live in one module-level dict, so a nested block overwrites the outer
block's record with all-eval flags."""

from contextlib import contextmanager

import torch

EXPECT = "nested"

_saved = {}


@contextmanager
def evaluating(model):
    _saved.clear()
    _saved.update({module: module.training for module in model.modules()})
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, was_training in _saved.items():
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
