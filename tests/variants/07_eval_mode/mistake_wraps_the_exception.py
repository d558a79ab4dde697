"""Mistake: an error in the block is caught and replaced by a new RuntimeError."""

from contextlib import contextmanager

import torch

EXPECT = "came out instead"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    except Exception as exc:
        raise RuntimeError("evaluation failed") from exc
    finally:
        for module, was_training in saved:
            module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
