"""Correct: contextlib.ExitStack, with the restore registered as a callback before eval() and
torch.no_grad() entered on the stack."""

from contextlib import ExitStack, contextmanager

import torch


@contextmanager
def evaluating(model):
    with ExitStack() as stack:
        flags = [(module, module.training) for module in model.modules()]

        def restore():
            for module, flag in flags:
                module.training = flag

        stack.callback(restore)
        model.eval()
        stack.enter_context(torch.no_grad())
        yield model


def predict(model, x):
    with ExitStack() as stack:
        stack.enter_context(evaluating(model))
        return model(x)
