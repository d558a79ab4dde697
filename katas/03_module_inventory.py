"""Kata 03: what does nn.Module track?

Everything nn.Module does for you (parameters(), state_dict(), .to(device), optimizers, repr) reads
a few registries that nn.Module.__setattr__ fills when you assign an attribute:

- `m._parameters`: name -> nn.Parameter (or None, after `register_parameter("bias", None)`).
- `m._buffers`: name -> tensor (or None), filled by `register_buffer`. The names registered with
  `persistent=False` are also in `m._non_persistent_buffers_set`: they move with .to(device) but
  state_dict() leaves them out.
- `m._modules`: name -> child nn.Module (nn.Sequential, nn.ModuleList, nn.ModuleDict put theirs here).
- Anything else goes into the plain instance dict, `vars(m)`, where nn.Module never looks again.

Write `inventory(module)`, which returns a dict with exactly these five keys, each a list of str
qualified dotted names ("encoder.0.weight"), SORTED (sorted(names)), each name at most once:

- "parameters": exactly the names `module.named_parameters()` gives. A tied parameter
  (`decoder.weight = encoder.weight`) is ONE Parameter and is listed once, under its first name in
  named_modules() order (the name named_parameters() gives it). Names registered as None
  (nn.Linear(..., bias=False), `register_parameter("extra", None)`) hold no tensor: not listed.
- "buffers": the persistent buffers: exactly the names `named_buffers()` gives that
  `module.state_dict()` saves. A buffer registered as None (BatchNorm with
  track_running_stats=False, `register_buffer("mask", None)`) is not listed.
- "non_persistent_buffers": the buffers registered with persistent=False, anywhere in the tree.
- A buffer shared by two modules (`b.register_buffer("mask", a.mask)`) is ONE tensor: it is listed
  once, under the name `named_buffers()` gives it (its first name in named_modules() order), under
  "buffers" or "non_persistent_buffers" as THAT name was registered.
- "submodules": every descendant as `module.named_modules()` names it (children, grandchildren, ...),
  the root excluded. A module registered in two places is listed once, under its first path.
- "unregistered": anywhere in the registered tree (the root and every submodule, each under its
  named_modules() path), the instance attributes that nn.Module does not track:
  - a tensor that is neither parameter nor buffer (the seed notebook's BrokenLayer:
    `self.weight = torch.randn(...)`);
  - a plain list, tuple or dict (dict: its values) holding at least one nn.Module, wherever it sits
    among other items (the seed's BadModel: `self.layers = [nn.Linear(...), ...]`; use
    nn.ModuleList / nn.ModuleDict). List the attribute itself ("encoder.layers"), not its items.
  Private names count like any other: `self._cache = torch.zeros(3)` is unregistered, and a private
  Parameter, buffer or submodule (`self._gate = nn.Linear(...)`) is listed like a public one. The
  only names to skip are nn.Module's own bookkeeping (_parameters, _buffers, _modules, the hook
  tables, training...): exactly the names in `vars(nn.Module())`. Containers of plain data (a list of
  strings, a config dict, an empty list) are not unregistered, nor is anything registered.

Structure: a module hidden in a plain container is not part of the tree: it is not a submodule and
its parameters and buffers are not listed anywhere. Built-in layers (nn.Linear, nn.BatchNorm1d,
nn.LayerNorm, nn.ReLU, ...) and subclasses of them (class ScaledLinear(nn.Linear) adding its own
buffers and plain tensors, class Stack(nn.Sequential)) are modules like any other: inventory them
through the same registries, with or without bias or parameters. Trees may be nested a few levels
deep and live on any device.

inventory only looks: the module's parameters, buffers, submodules, attributes, values and
train/eval mode are exactly the same afterwards (never register, delete or fix what you find), and
calling it twice gives the same answer.

Compute it from what nn.Module really keeps, not from named_parameters() alone: it cannot tell you
about buffers, persistence, or what was never registered. Beware of the traps the seed notebook
falls into: not every buffer is saved (persistent=False), state_dict() lists a tied weight under
both of its names while parameters() yields it once, unregistered tensors hide inside submodules
too, and a dict of modules is just as invisible as a list.

Run `kata check 03` to grade this file, `kata hint 03` when stuck.
"""

from __future__ import annotations

import torch
from torch import nn

KEYS = ("parameters", "buffers", "non_persistent_buffers", "submodules", "unregistered")


def inventory(module: nn.Module) -> dict[str, list[str]]:
    """Sorted, dotted names of everything `module` tracks, and of what it fails to track."""
    # TODO: walk module.named_modules() (prefix, sub). For each sub, with names prefixed by
    #       "prefix." (no prefix for the root):
    #       - sub._parameters: skip None and tensors already listed (compare identities: tied weights);
    #       - sub._buffers: skip None and tensors already listed (shared buffers); persistent unless
    #         the name is in sub._non_persistent_buffers_set;
    #       - the prefix itself, unless it is the root's "", is a submodule;
    #       - vars(sub), minus nn.Module's own bookkeeping (the names in vars(nn.Module()), NOT every
    #         "_name"): tensors, and lists/tuples/dicts holding an nn.Module anywhere, are unregistered.
    #       Return {key: sorted(names) for each of the five KEYS}.
    raise NotImplementedError(
        "inventory: walk named_modules() and sort what each module keeps into the five lists"
    )
