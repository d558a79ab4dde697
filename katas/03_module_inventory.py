"""Kata 03: what does nn.Module track?

Everything nn.Module does for you (parameters(), state_dict(), .to(device), optimizers, repr) reads
a few registries that nn.Module.__setattr__ fills when you assign an attribute:

- `m._parameters`: name -> nn.Parameter (or None, after `register_parameter("bias", None)`).
- `m._buffers`: name -> tensor (or None), filled by `register_buffer`. The names registered with
  `persistent=False` are also in `m._non_persistent_buffers_set`: they move with .to(device) but
  state_dict() leaves them out.
- `m._modules`: name -> child nn.Module (nn.Sequential, nn.ModuleList, nn.ModuleDict put theirs here).
- Anything else goes into the plain instance dict, `vars(m)`, where nn.Module never looks again.

Write `inventory(module)`, which returns a dict with exactly these five keys, each a sorted list of
qualified dotted names ("encoder.0.weight"):

- "parameters": the names `module.named_parameters()` gives. A tied parameter
  (`decoder.weight = encoder.weight`) is ONE Parameter and is listed once, under the first name
  (named_modules() order); None entries are not parameters.
- "buffers": the persistent buffers, exactly those that appear in `module.state_dict()`.
- "non_persistent_buffers": the buffers registered with persistent=False.
- "submodules": every descendant as `module.named_modules()` names it (a module shared between two
  places is listed once), the root excluded.
- "unregistered": anywhere in the tree (the root and every submodule), the instance attributes that
  nn.Module does not track: a tensor that is neither parameter nor buffer (the seed notebook's
  BrokenLayer: `self.weight = torch.randn(...)`), and a plain list, tuple or dict that holds modules
  (the seed's BadModel: `self.layers = [nn.Linear(...), ...]`; use nn.ModuleList / nn.ModuleDict).
  List the attribute itself ("encoder.layers"), not what is inside it; a module hidden in a plain
  container is not part of the tree, so its parameters are not listed anywhere.

Compute it from what nn.Module really keeps, not from named_parameters() alone: it cannot tell you
about buffers, persistence, or what was never registered. Beware of the traps the seed notebook
falls into: not every buffer is saved (persistent=False), state_dict() lists a tied weight under
both of its names while parameters() yields it once, unregistered tensors hide inside submodules
too, and a dict of modules is just as invisible as a list. Also skip nn.Module's own bookkeeping
in vars(m) (_parameters, _modules, the hook tables...): `vars(nn.Module())` lists those names.

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
    #       - sub._buffers: skip None; persistent unless the name is in sub._non_persistent_buffers_set;
    #       - the prefix itself, unless it is the root's "", is a submodule;
    #       - vars(sub), minus nn.Module's own bookkeeping: tensors, and lists/tuples/dicts holding
    #         nn.Modules, are unregistered.
    #       Return {key: sorted(names) for each of the five KEYS}.
    raise NotImplementedError(
        "inventory: walk named_modules() and sort what each module keeps into the five lists"
    )
