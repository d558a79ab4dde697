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
        features = fx.get_features()

- Layer names are the dotted paths of `model.named_modules()`: "0", "layer2.relu", "blocks.1.norm".
  An unknown name raises ValueError that names it. Validate every name BEFORE registering any hook:
  otherwise the hooks registered for the names before the bad one stay on the model for ever, with
  no extractor left to remove them. Don't let a bad name surface as an AttributeError or IndexError
  from walking the model: the caller asked for a layer, so say which name does not exist.
- get_features() returns {name: latest output of that layer}: the OUTPUT (the hook's third
  argument), not the input. Each value is detached (no grad_fn), on the model's device; a layer that
  returns a tuple or list gets a tuple/list of detached elements.
- The hook must return None. A forward hook that returns a value REPLACES the layer's output, so
  `return output.detach()` silently cuts the autograd graph: the layers before it stop learning.
- Why detach? A stored output with history keeps the whole graph (every saved activation) alive
  until the next forward, and anything computed from it would backpropagate into the model.
- remove_hooks() removes every hook this extractor registered (keep the RemovableHandle that
  register_forward_hook returns and call .remove() on it), leaves other people's hooks alone, and
  may be called twice.
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
        # TODO: look the names up in dict(model.named_modules()); raise ValueError naming any unknown
        #       name before registering anything. Then create this instance's features dict and handle
        #       list, and register one forward hook per layer, keeping each returned handle.
        #       The hook is hook(module, inputs, output): store the detached output (element by
        #       element for tuples/lists) under the layer's name, and return None.
        raise NotImplementedError("FeatureExtractor.__init__: validate names, then register forward hooks")

    def get_features(self) -> dict[str, Any]:
        """{layer name: the latest output of that layer, detached}."""
        # TODO: return the features the hooks recorded.
        raise NotImplementedError("FeatureExtractor.get_features: return {name: latest detached output}")

    def remove_hooks(self) -> None:
        """Remove every hook this extractor registered; calling it twice is fine."""
        # TODO: call .remove() on every handle you kept, then forget them.
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
