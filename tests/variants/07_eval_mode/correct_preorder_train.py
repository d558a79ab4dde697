"""Correct: restores with module.train(flag) in modules() order (parents before children, so each
child's own flag is set last) and restores grad mode by hand with torch.set_grad_enabled(previous)."""

from contextlib import contextmanager

import torch


@contextmanager
def evaluating(model):
    flags = [(module, module.training) for module in model.modules()]
    previous = torch.is_grad_enabled()
    try:
        for module, _ in flags:
            module.train(False)
        torch.set_grad_enabled(False)
        yield model
    finally:
        torch.set_grad_enabled(previous)
        for module, flag in flags:
            module.train(flag)


def predict(model, x):
    with evaluating(model) as m:
        out = m(x)
    return out
