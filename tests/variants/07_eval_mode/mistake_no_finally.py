"""Mistake: the flags are restored after the yield but not in finally:, so an exception skips it."""

from contextlib import contextmanager

import torch

EXPECT = "in a finally: block"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    with torch.no_grad():
        yield model
    for module, was_training in saved:
        module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
