"""Mistake: the flags are restored in `except Exception:` and after the yield, not in finally:, so a
KeyboardInterrupt (a BaseException) leaves the model in eval mode."""

from contextlib import contextmanager

import torch

EXPECT = "BaseException"


@contextmanager
def evaluating(model):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    except Exception:
        for module, was_training in saved:
            module.training = was_training
        raise
    for module, was_training in saved:
        module.training = was_training


def predict(model, x):
    with evaluating(model):
        return model(x)
