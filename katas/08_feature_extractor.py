"""Kata 08: forward hooks, a feature extractor.

Forward hooks let you look inside a model without touching its code: `module.register_forward_hook(
hook)` makes nn.Module call `hook(module, inputs, output)` right after `module.forward` returns. That
is how feature extractors, activation statistics and visualisation tools read intermediate layers.
Build FeatureExtractor:

    fx = FeatureExtractor(model, ["layer2.relu", "blocks.1.norm"])
    model(x)
    fx.get_features()   # {"layer2.relu": tensor, "blocks.1.norm": tensor}
    fx.remove_hooks()

    with FeatureExtractor(model, ["0"]) as fx:   # hooks removed on leaving, also on an exception
        model(x)
    features = fx.get_features()                 # still readable after the block

THE CONTRACT (everything `kata check 08` holds you to)

FeatureExtractor(model, layer_names)
- model: any nn.Module tree: nested Sequential/ModuleList/custom modules, private names ("_hidden"),
  subclasses of built-in layers, layers without parameters (ReLU, Identity), float32 or float64, on
  any device, called on inputs of any shape.
- layer_names: a list or tuple of distinct str. A name is a dotted path that
  `model.named_modules(remove_duplicate=False)` lists: "0", "layer2.relu", "blocks.1.norm", "_hidden.0",
  and "" for the model itself. A module SHARED under two paths (model.enc.a is model.enc.b) answers to
  both: plain named_modules() lists it once, under its first path only. Each requested name gets its
  own entry, even when two names reach the same module.
- An unknown name (a typo, an index out of range, a module kept in a plain Python list, which nn.Module
  does not register, the path of a parameter such as "0.weight") raises ValueError whose message
  contains the name. Validate every name BEFORE registering any hook: otherwise the hooks registered
  for the names before the bad one stay on the model for ever, with no extractor left to remove them.
  Don't let a bad name surface as an AttributeError or IndexError from walking the model.
- Hooks are registered here (no with-statement needed), one forward hook per requested name.

The hook
- It records the layer's OUTPUT (its third argument), not its input, from the layer's latest call: a
  second forward pass replaces the first's features; a shared layer called twice in one pass keeps its
  second output. It records under torch.no_grad() too.
- It must return None. A forward hook that returns a value REPLACES the layer's output, so
  `return output.detach()` silently cuts the autograd graph: the layers before it stop learning. With
  the extractor attached, the model's output and every gradient are exactly what they are without it.
- Each recorded tensor is a snapshot, `output.detach().clone()`:
  * detached: a stored output with history keeps the whole graph (every saved activation) alive until
    the next forward, and anything computed from it would backpropagate into the model;
  * cloned: detach() shares memory with the output, so an in-place operation after the layer returned
    (an nn.ReLU(inplace=True) next in the model, the caller's `out.mul_(2)`) would rewrite the feature.
  It keeps the output's dtype, shape and device.
- A layer that returns a tuple, list or namedtuple (torch.return_types such as torch.max(x, dim)'s, or
  nn.LSTM's nested `(output, (h, c))`) is recorded with the same structure and container types, every
  tensor inside snapshotted, other elements (None, numbers) kept as they are. Mind that a namedtuple takes its
  fields as separate arguments: `type(out)(*items)`, not `type(out)(items)`.

get_features() -> dict
- Returns a NEW dict {name: feature} each call, holding exactly the requested names whose layer has run
  (empty before any forward pass). A dict the caller kept does not change when the model runs again,
  and the caller clearing it changes nothing in the extractor.

remove_hooks()
- Removes every hook this extractor registered (keep the RemovableHandle that register_forward_hook
  returns and call .remove() on it) and nothing else: other people's hooks on the same layers, and other
  extractors' hooks on the same model, stay and keep running, whichever was registered first. After
  it, no hook of the extractor is left on any module and running the model changes no feature; the
  features recorded so far stay readable. Calling it twice is fine.

with FeatureExtractor(...) as fx
- fx is the extractor itself. Leaving the block removes the hooks, also when the body raises (any
  exception, KeyboardInterrupt included), and never swallows the exception.

State
- Keep all state (the features dict, the handles) on the instance, created in __init__. A dict
  written as a class attribute is shared by every extractor: two extractors on two models would
  overwrite each other's features and remove each other's hooks.

Several of these traps appear in the seed notebook's own version (section 6.1 and Exercise 2).

Run `kata check 08` to grade this file, `kata hint 08` when stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


class FeatureExtractor:
    """Records the outputs of named layers of `model` with forward hooks."""

    def __init__(self, model: nn.Module, layer_names: Sequence[str]) -> None:
        # TODO: look the names up in dict(model.named_modules(remove_duplicate=False)); raise ValueError
        #       naming any unknown name before registering anything. Then create this instance's
        #       features dict and handle list, and register one forward hook per name, keeping each
        #       returned handle. The hook is hook(module, inputs, output): store output.detach().clone()
        #       (element by element for tuples/lists/namedtuples, keeping their types) under the
        #       name, and return None.
        raise NotImplementedError("FeatureExtractor.__init__: validate names, then register forward hooks")

    def get_features(self) -> dict[str, Any]:
        """A new dict {layer name: the latest output of that layer, detached and cloned}."""
        # TODO: return a new dict of the features the hooks recorded.
        raise NotImplementedError("FeatureExtractor.get_features: return {name: latest detached output}")

    def remove_hooks(self) -> None:
        """Remove every hook this extractor registered; calling it twice is fine."""
        # TODO: call .remove() on every handle you kept, then forget them; keep the features.
        raise NotImplementedError("FeatureExtractor.remove_hooks: call handle.remove() on every handle")

    def __enter__(self) -> FeatureExtractor:
        # TODO: `with FeatureExtractor(...) as fx:` binds fx to what this returns.
        raise NotImplementedError("FeatureExtractor.__enter__: return the extractor itself")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # TODO: remove the hooks, also when the block raised; do not swallow the exception.
        raise NotImplementedError("FeatureExtractor.__exit__: remove the hooks")
