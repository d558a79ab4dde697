"""Correct: filter by shape into a new dict, let load_state_dict(strict=False) copy it; a NamedTuple report."""

from typing import NamedTuple

from torch import nn


class LoadReport(NamedTuple):
    loaded: list
    mismatched: list
    missing: list
    unexpected: list


def load_compatible(model: nn.Module, state_dict) -> LoadReport:
    own = model.state_dict()
    mismatched = sorted(k for k, v in state_dict.items() if k in own and own[k].shape != v.shape)
    fitting = {k: v for k, v in state_dict.items() if k not in mismatched}
    result = model.load_state_dict(fitting, strict=False)  # copies with param.copy_ under no_grad
    loaded = sorted(k for k in fitting if k in own)
    missing = sorted(set(own) - set(state_dict))
    return LoadReport(loaded, mismatched, missing, sorted(result.unexpected_keys))
