"""Correct: the model's keys from state_dict(); each target fetched with get_parameter/get_buffer by its
dotted name and filled with copy_ under torch.no_grad(); a frozen dataclass report."""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LoadReport:
    loaded: list
    mismatched: list
    missing: list
    unexpected: list


def load_compatible(model: nn.Module, state_dict) -> LoadReport:
    shapes = {key: value.shape for key, value in model.state_dict().items()}
    params = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    loaded, mismatched = [], []
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in shapes:
                continue
            if shapes[key] != value.shape:
                mismatched.append(key)
                continue
            target = model.get_parameter(key) if key in params else model.get_buffer(key)
            target.copy_(value)
            loaded.append(key)
    return LoadReport(
        loaded=sorted(loaded),
        mismatched=sorted(mismatched),
        missing=sorted(shapes.keys() - state_dict.keys()),
        unexpected=sorted(state_dict.keys() - shapes.keys()),
    )
