"""Mistake: the exception raised in the block is caught and not re-raised, so it is swallowed."""

from contextlib import contextmanager

import torch

EXPECT = "swallowed"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    except Exception:
        pass
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
