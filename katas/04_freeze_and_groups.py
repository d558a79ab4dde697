"""Kata 04: freezing layers and optimizer parameter groups.

Fine-tuning rarely trains every weight at the same speed: you freeze a pretrained backbone, give
the new head a larger learning rate than the layers below it, and want to know how many weights
you are actually training. All of it is driven by parameter *names*, the dotted paths that
`model.named_parameters()` yields ("encoder.0.weight", "head.bias", ...). Write four helpers:

- `freeze(model, prefixes)` sets `requires_grad = False` on every parameter under one of the
  prefixes; `unfreeze(model, prefixes)` sets it back to True.
- `param_groups(model, lr_by_prefix, default_lr)` builds the list you hand to an optimizer:
  `torch.optim.SGD(param_groups(model, {"head": 1e-2}, 1e-4))`.
- `count_parameters(model, trainable_only=False)` counts the scalars (numel) in the parameters.

The contract (the checks hold you to all of it, on generated models: nested Sequential, ModuleList,
ModuleDict and custom modules, private names such as "_hidden", subclasses of built-in layers that
add parameters, layers without bias, layers without any parameter, buffers, modules kept in a plain
Python list, tied parameters and shared submodules, on CPU and CUDA):

Names and matching
- The names are exactly those `model.named_parameters()` yields. A shared (tied) parameter, such as
  a decoder reusing the embedding matrix, is one parameter: named_parameters() yields it once, under
  the first name it is reached by; its other names are not parameter names here. Buffers (BatchNorm's
  running_mean...) and tensors in plain Python lists are not parameters.
- A prefix p matches the name n when `n == p` or `n.startswith(p + ".")`: a dotted prefix names a
  whole module (or one parameter), never part of a name. A plain `n.startswith(p)`, or a substring
  test `p in n`, lets "layer1" match "layer10.weight" and silently freezes the wrong layer.

freeze(model, prefixes) / unfreeze(model, prefixes)
- prefixes: any iterable of str (list, tuple, set, dict keys, a generator), possibly empty, possibly
  with repeats. Iterate it once (a generator can only be read once), and never modify it.
- Every parameter matched by at least one prefix gets requires_grad False (freeze) / True
  (unfreeze), in place: the same Parameter objects, so autograd stops (resumes) computing their
  gradients and an optimizer already holding them sees the change. Parameters matched by no prefix
  keep their state: freeze never unfreezes anything, unfreeze never unfreezes anything outside the
  prefixes. Whether an existing .grad is cleared is up to you.
- Both return a new plain list of str: the sorted names whose requires_grad actually flipped. A
  parameter that already had the requested state is not named, so a second identical call returns [].
- A prefix that matches no parameter name (an empty string, "layer" for "layer1", a trailing dot, a
  buffer's name) is almost always a typo: raise ValueError with that prefix in the message, BEFORE
  changing anything (check every prefix first), so that the model is left exactly as it was.
- Grad mode does not matter: they work the same under torch.no_grad().

param_groups(model, lr_by_prefix, default_lr)
- lr_by_prefix: a mapping from prefix to learning rate (int or float, 0 allowed); default_lr likewise.
  A prefix that matches no trainable parameter is allowed (it simply gets no group). Never modify it.
- Returns a list of dicts `{"params": [...], "lr": ..., "names": [...]}`: params a list (or tuple) of
  the model's own Parameter objects, in an ordered collection (torch.optim refuses a set), names[i]
  the name of params[i]; torch.optim keeps extra keys such as "names" untouched.
- Every trainable parameter (requires_grad True) is in exactly one group: the one whose lr is that of
  its longest matching prefix ("encoder.2" beats "encoder"); parameters that match no prefix get
  default_lr. An optimizer refuses a parameter that appears in two groups ("some parameters appear in
  more than one parameter group"). How the parameters are split into groups beyond that is yours
  (one group per prefix, or groups sharing an lr merged).
- Frozen parameters (requires_grad False) are in no group. Handing them over anyway, as
  `SGD(model.parameters())` after freezing does, is not harmless: SGD and Adam update every parameter
  they hold whose .grad is set, and a parameter frozen after some training still carries its stale
  gradient.
- No group is empty (a prefix whose parameters are all frozen, one that matches nothing, or no
  parameter left for the default). With every parameter frozen the list is empty.
- One step of plain SGD over the groups therefore moves each trainable parameter by -lr * grad with
  its own lr, and never moves a frozen one.

count_parameters(model, trainable_only=False)
- Returns a plain int: the total numel() of the registered parameters, a shared parameter counted
  once (model.parameters() yields it once). Iterating over every submodule's own parameters, or over
  named_parameters(remove_duplicate=False), counts it twice; state_dict() also lists buffers, which
  are not parameters at all. trainable_only (keyword or positional) counts only the parameters with
  requires_grad True. The model is not modified.

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
    # TODO: read prefixes once (list(prefixes)). For each (name, param) in model.named_parameters(),
    #       it matches a prefix p when name == p or name.startswith(p + "."). Raise ValueError naming
    #       any prefix that matches nothing (before changing anything), then switch requires_grad off
    #       and collect the names whose flag actually changed.
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
