"""Correct: state_dict(keep_vars=True) gives the Parameters themselves; tensor.data.copy_(value) writes into
them without autograd (no torch.no_grad() needed); the value is first moved with .to(), explicitly."""

from torch import nn


class LoadReport:
    __slots__ = ("loaded", "mismatched", "missing", "unexpected")

    def __init__(self):
        self.loaded, self.mismatched, self.missing, self.unexpected = [], [], [], []


def load_compatible(model: nn.Module, state_dict) -> LoadReport:
    own = model.state_dict(keep_vars=True)
    report = LoadReport()
    for key in sorted(state_dict):
        value = state_dict[key]
        if key not in own:
            report.unexpected.append(key)
        elif tuple(own[key].shape) != tuple(value.shape):
            report.mismatched.append(key)
        else:
            target = own[key].data
            target.copy_(value.to(device=target.device, dtype=target.dtype))
            report.loaded.append(key)
    report.missing = sorted(key for key in own if key not in state_dict)
    return report
