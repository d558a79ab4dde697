"""Mistake: only the modules that were training are recorded and switched back on, so a module the
block put in training mode that was in eval before stays in training."""

from contextlib import contextmanager

import torch

EXPECT = "also those the block changed"


@contextmanager
def evaluating(model):
    were_training = [module for module in model.modules() if module.training]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module in were_training:
            module.training = True


def predict(model, x):
    with evaluating(model):
        return model(x)
