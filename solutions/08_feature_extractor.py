"""Kata 08, reference solution: forward hooks, a feature extractor.

See katas/08_feature_extractor.py for the task. The comments below explain each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


def _snapshot(value: Any) -> Any:
    """A detached copy of a tensor, or of every tensor inside a (possibly nested) tuple or list,
    keeping each container's type."""
    if isinstance(value, torch.Tensor):
        # detach(): no autograd history. clone(): our own memory, so an in-place operation after the
        # layer (nn.ReLU(inplace=True), the caller's out.mul_()) cannot rewrite the stored feature.
        return value.detach().clone()
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        # A namedtuple takes its fields as separate arguments: Pair(*items), not Pair(items).
        return type(value)(*(_snapshot(v) for v in value))
    if isinstance(value, (tuple, list)):
        # tuple, list, and torch.return_types (which take one sequence, like tuple does).
        return type(value)(_snapshot(v) for v in value)
    return value  # None and other non-tensor elements are kept as they are


class FeatureExtractor:
    """Records the outputs of named layers of `model` with forward hooks."""

    def __init__(self, model: nn.Module, layer_names: Sequence[str]) -> None:
        self.layer_names = list(layer_names)
        # Validate every name first: if we registered as we went, a bad name in the middle would
        # leave the earlier hooks on the model with no extractor to remove them.
        # remove_duplicate=False: a module shared under two paths is listed under both, so either
        # name works (plain named_modules() lists it once, under the first path only).
        modules = dict(model.named_modules(remove_duplicate=False))
        unknown = [name for name in self.layer_names if name not in modules]
        if unknown:
            raise ValueError(f"unknown layer name(s) {unknown}: not in model.named_modules()")
        # Instance attributes, created here: a class-level dict would be shared by all extractors.
        self._features: dict[str, Any] = {}
        self._handles: list[RemovableHandle] = []
        for name in self.layer_names:
            self._handles.append(modules[name].register_forward_hook(self._make_hook(name)))

    def _make_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            # The third argument is the layer's output. Detach it so the stored feature does not
            # keep the autograd graph alive, and clone it so later in-place changes miss it. One hook
            # per name: a module shared under two requested names records under both.
            # Return None: a returned value would replace the layer's output (and a detached one
            # would cut the gradient flow at this layer).
            self._features[name] = _snapshot(output)

        return hook

    def get_features(self) -> dict[str, Any]:
        """A new dict {layer name: the latest output of that layer, detached and cloned}."""
        # A new dict: one the caller kept from an earlier pass must not change under them.
        return dict(self._features)

    def remove_hooks(self) -> None:
        """Remove every hook this extractor registered; calling it twice is fine."""
        # Only our own handles: other hooks on the same modules stay where they are, whatever the
        # order they were registered in. The features stay readable (after a with-block, say).
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> FeatureExtractor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Runs on a normal exit and when the block raised; returning None lets the exception go on.
        self.remove_hooks()
