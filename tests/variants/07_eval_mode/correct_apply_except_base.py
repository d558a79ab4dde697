"""Correct: eval mode through model.apply, flags kept by id(), restored in `except BaseException:`
(re-raised) and on the normal path; predict under the @torch.inference_mode() decorator."""

from contextlib import contextmanager

import torch


def _restore(modules, saved):
    for module in modules:
        module.training = saved[id(module)]


@contextmanager
def evaluating(model):
    modules = list(model.modules())
    saved = {id(module): module.training for module in modules}
    model.apply(lambda module: setattr(module, "training", False))
    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        yield model
    except BaseException:
        torch.set_grad_enabled(previous)
        _restore(modules, saved)
        raise
    torch.set_grad_enabled(previous)
    _restore(modules, saved)


@torch.inference_mode()
def predict(model, x):
    with evaluating(model):
        return model(x)
