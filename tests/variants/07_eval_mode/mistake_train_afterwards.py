"""Mistake: model.train() afterwards instead of restoring each flag (the seed notebook's inference())."""

from contextlib import contextmanager

import torch

EXPECT = "calling model.train() afterwards"


@contextmanager
def evaluating(model):
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train()


def predict(model, x):
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train()
