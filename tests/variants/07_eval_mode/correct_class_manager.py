"""Correct: a class-based context manager using torch.inference_mode; predict written on its own
with a try/finally and the @torch.no_grad() decorator."""

import torch


class evaluating:  # noqa: N801 - used like a function, as the API asks
    def __init__(self, model):
        self.model = model
        self.saved = {}
        self.inference = torch.inference_mode()

    def __enter__(self):
        self.saved = {module: module.training for module in self.model.modules()}
        self.model.eval()
        self.inference.__enter__()
        return self.model

    def __exit__(self, exc_type, exc, tb):
        try:
            self.inference.__exit__(exc_type, exc, tb)
        finally:
            for module, flag in self.saved.items():
                module.training = flag
        return False


@torch.no_grad()
def predict(model, x):
    saved = {name: module.training for name, module in model.named_modules()}
    model.eval()
    try:
        return model(x)
    finally:
        for name, flag in saved.items():
            model.get_submodule(name).training = flag
