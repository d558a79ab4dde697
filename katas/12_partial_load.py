"""Kata 12: loading what fits from a state_dict.

Fine-tuning, growing a network, or restoring an old checkpoint into a slightly changed model all
need the same thing: take every tensor from a state_dict that FITS the model, skip the rest, and
say exactly what happened. Write `load_compatible(model, state_dict) -> LoadReport`:

- For each key of `state_dict`:
  - the model's state_dict() has that key with the SAME shape: copy the value into the model's own
    tensor. The copy is cast to the model's dtype (float16, bfloat16, float32 or float64) and device
    (a float32 CPU checkpoint loads into a float64 model on the GPU), whatever the value's memory
    layout (contiguous, transposed, sliced, expanded), and shares no memory with the source: changing
    the state_dict's tensors afterwards does not change the model. It goes into the existing tensor in
    place, so the model keeps the very same nn.Parameter objects (an optimizer built before still
    holds them) and their requires_grad flags (a frozen parameter stays frozen, a trainable one
    trainable). The key goes in `loaded`.
  - the model has that key with another shape: skip it, do not raise, and report it in
    `mismatched`. "Same shape" means exactly equal sizes: a (4, 3) value for a (3, 4) weight or a
    (12,) one (same number of elements), or a (1,) value for a (3,) bias (broadcastable), is a
    mismatch; never reshape or broadcast a checkpoint's tensor to fit.
  - the model has no such key: report it in `unexpected`.
- Every key of the model's state_dict that `state_dict` lacks is reported in `missing`. A key that
  is present with the wrong shape is mismatched, not missing.
- The model's keys are exactly those of `model.state_dict()`: parameters and PERSISTENT buffers
  (BatchNorm's running_mean, running_var and num_batches_tracked, register_buffer(...)) load like
  parameters. Non-persistent buffers (register_buffer(..., persistent=False)) are not part of a
  state_dict: they are never missing, a checkpoint key with such a buffer's name is unexpected, and
  they are never loaded.
- Tied weights (`head.weight = embed.weight`): model.state_dict() lists the one tensor under each of
  its names, and each of those keys is loaded, mismatched or missing like any other key. (A
  consistent checkpoint gives both names the same value; if they differ, which one ends up in the
  tensor is not specified.)
- Touch nothing else: mismatched and missing entries and non-persistent buffers keep their values;
  the caller's `state_dict` (any Mapping: a dict, an OrderedDict, a read-only MappingProxyType, what
  torch.load(..., weights_only=True) returns) keeps its keys, their order and its tensors' values.
- Never raise for entries that do not fit. Leave grad mode as you found it (a caller may already be
  under torch.no_grad(); `with torch.no_grad():` restores the mode, torch.set_grad_enabled(False)
  alone does not).
- The model can be any tree: nested blocks and containers, private names (`_running`), built-in
  layers with or without bias / affine parameters / running statistics, layers without parameters,
  subclasses of built-in layers.
- Return a LoadReport whose four lists (str keys) are sorted.

Example, the seed notebook's own: loading a 2-layer Sequential's state_dict into a 3-layer one,

    small = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))
    big = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2))
    load_compatible(big, small.state_dict())
    # LoadReport(loaded=['0.bias', '0.weight'], mismatched=['1.bias', '1.weight'],
    #            missing=['2.bias', '2.weight'], unexpected=[])

What the seed notebook gets wrong: it calls `big.load_state_dict(small.state_dict(), strict=False)`
for exactly this pair, expecting it to load what it can. It raises
`RuntimeError: Error(s) in loading state_dict ... size mismatch for 1.weight`. strict=False only
forgives MISSING and UNEXPECTED keys; a key present in both with different shapes is always an
error. You have to decide which entries fit before anything is copied.

Why copy in place? model.state_dict() returns the model's own tensors (detached, sharing memory),
and `target.copy_(value)` under torch.no_grad() writes into them, casting dtype and device on the
way. Rebinding instead (`param.data = value`, or load_state_dict(..., assign=True)) makes the model
adopt the source tensor itself: its dtype, its device, its memory, and new Parameter objects.

Run `kata check 12` to grade this file, `kata hint 12` when stuck.
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
    # TODO: own = model.state_dict() (parameters and persistent buffers, sharing the model's memory).
    #       For each key of state_dict: not in own -> unexpected; own[key].shape != value.shape ->
    #       mismatched; otherwise own[key].copy_(value) under torch.no_grad() -> loaded.
    #       missing = keys of own that state_dict lacks. Return LoadReport with every list sorted.
    raise NotImplementedError("load_compatible: copy the entries whose key and shape match, report the rest")
