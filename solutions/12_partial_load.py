"""Kata 12, reference solution: loading what fits from a state_dict.

See katas/12_partial_load.py for the task. The comments below explain each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class LoadReport:
    """What load_compatible did: four sorted lists of state_dict keys."""

    loaded: list[str] = field(default_factory=list)  # copied into the model
    mismatched: list[str] = field(default_factory=list)  # in both, different shapes: skipped
    missing: list[str] = field(default_factory=list)  # in the model only: left as they were
    unexpected: list[str] = field(default_factory=list)  # in the state_dict only: ignored


def load_compatible(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> LoadReport:
    """Copy every entry of `state_dict` whose key and shape match the model; report the rest.

    Never raises for entries that do not fit, and never modifies `state_dict`.
    """
    # model.state_dict() is exactly the set of keys load_state_dict works with: parameters and
    # PERSISTENT buffers (non-persistent ones are left out, so they can never be "missing").
    # Its tensors are detached views of the model's own storage: writing into them writes into
    # the model, and the Parameter objects themselves stay the same.
    # A tied weight appears in own under each of its names, so each of those keys is handled like
    # any other key.
    own = model.state_dict()
    report = LoadReport()
    # no_grad: copying into a tensor that shares a Parameter's storage is bookkeeping, not a step
    # of the graph (with keep_vars=True tensors, copy_ into a leaf that requires grad would raise).
    # The `with` block restores the caller's grad mode afterwards, even under torch.no_grad().
    # Only reads from state_dict: it may be a read-only Mapping, and it is the caller's.
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in own:
                report.unexpected.append(key)
            elif own[key].shape != value.shape:
                # Exact shape equality: copy_ would happily BROADCAST a (1,) value over a (3,)
                # bias, and comparing numel() would let a transposed weight through.
                # load_state_dict(strict=False) raises here instead; we skip and report.
                report.mismatched.append(key)
            else:
                # copy_ writes into the existing tensor: it casts to the model's dtype, moves to
                # the model's device, reads any memory layout (transposed, expanded), and keeps no
                # link to the source's memory; the Parameter object and its requires_grad stay.
                own[key].copy_(value)
                report.loaded.append(key)
    # A key that is in the state_dict with another shape is mismatched, not missing.
    report.missing = [key for key in own if key not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
