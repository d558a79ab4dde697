"""Mistake: every flag is recorded, but restored with module.train(flag) children first: each parent's
train() then overwrites its children's flags again."""

from contextlib import contextmanager

import torch

EXPECT = "sets every submodule alike"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, was_training in reversed(saved):
            module.train(was_training)


def predict(model, x):
    with evaluating(model):
        return model(x)
