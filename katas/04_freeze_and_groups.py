"""Kata 04: freezing layers and optimizer parameter groups.

Fine-tuning rarely trains every weight at the same speed: you freeze a pretrained backbone, give
the new head a larger learning rate than the layers below it, and want to know how many weights
you are actually training. All of it is driven by parameter *names*, the dotted paths that
`model.named_parameters()` yields ("encoder.0.weight", "head.bias", ...). Write four helpers:

- `freeze(model, prefixes)` sets `requires_grad = False` on every parameter under one of the
  prefixes; `unfreeze(model, prefixes)` sets it back to True. Both return the sorted list of the
  names whose `requires_grad` they changed.
- `param_groups(model, lr_by_prefix, default_lr)` builds the list you hand to an optimizer:
  `torch.optim.SGD(param_groups(model, {"head": 1e-2}, 1e-4))`.
- `count_parameters(model, trainable_only=False)` counts the scalars (numel) in the parameters.

The rules, and what goes wrong without them:

- A prefix p matches the name n when `n == p` or `n.startswith(p + ".")`: a dotted prefix names
  a whole module (or one parameter), never part of a name. A plain `n.startswith(p)`, or a
  substring test `p in n`, lets "layer1" match "layer10.weight" and silently freezes the wrong
  layer.
- A prefix that matches no parameter name is almost always a typo: freeze/unfreeze raise
  ValueError with that prefix in the message (check every prefix before changing anything).
- In param_groups, every trainable parameter goes into exactly one group: the one of its longest
  matching prefix ("encoder.2" beats "encoder"); parameters that match no prefix share one group
  with `default_lr`. An optimizer refuses a parameter that appears in two groups ("some
  parameters appear in more than one parameter group").
- Frozen parameters (requires_grad False) are left out of the optimizer. Handing them over
  anyway, as `SGD(model.parameters())` after freezing does, is not harmless: SGD and Adam update
  every parameter they hold whose .grad is set, and a parameter frozen after some training still
  carries its stale gradient.
- Empty groups (a prefix whose parameters are all frozen, or no parameter left for the default)
  are left out. Each group is a dict `{"params": [...], "lr": ..., "names": [...]}` where
  names[i] is the name of params[i]; torch.optim keeps extra keys such as "names" untouched.
- A shared (tied) parameter, such as a decoder reusing the embedding matrix, is one parameter:
  `model.parameters()` and `model.named_parameters()` yield it once, so count it once. Iterating
  over every submodule's own parameters, or over named_parameters(remove_duplicate=False),
  counts it twice; state_dict() also lists buffers, which are not parameters at all.

Several of these mistakes appear in the seed notebook's sections 2.2 and 2.3: do not copy its
helpers, and do not trust a check that never tries "layer1" next to "layer10".

Run `kata check 04` to grade this file, `kata hint 04` when stuck.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn


def freeze(model: nn.Module, prefixes: Iterable[str]) -> list[str]:
    """Set requires_grad=False on every parameter under one of `prefixes`; return the sorted names changed."""
    # TODO: for each (name, param) in model.named_parameters(), it matches a prefix p when
    #       name == p or name.startswith(p + "."). Raise ValueError naming any prefix that matches
    #       nothing (before changing anything), then switch requires_grad off and collect the names.
    raise NotImplementedError("freeze: set requires_grad=False under the given name prefixes")


def unfreeze(model: nn.Module, prefixes: Iterable[str]) -> list[str]:
    """Set requires_grad=True on every parameter under one of `prefixes`; return the sorted names changed."""
    # TODO: the same matching and ValueError as freeze, switching requires_grad back on.
    raise NotImplementedError("unfreeze: set requires_grad=True under the given name prefixes")


def param_groups(model: nn.Module, lr_by_prefix: Mapping[str, float], default_lr: float) -> list[dict[str, Any]]:
    """Optimizer parameter groups: each trainable parameter in the group of its longest matching prefix."""
    # TODO: skip frozen parameters; for each trainable one find the longest prefix in lr_by_prefix
    #       that matches its name (none: the default group with default_lr). Build one dict
    #       {"params": [...], "lr": ..., "names": [...]} per non-empty group.
    raise NotImplementedError("param_groups: build {'params', 'lr', 'names'} groups by longest matching prefix")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of scalars in the model's parameters (a shared parameter counted once)."""
    # TODO: sum numel() over model.parameters() (which yields a shared parameter once), keeping
    #       only those with requires_grad when trainable_only is True.
    raise NotImplementedError("count_parameters: sum numel() over the parameters, each counted once")
