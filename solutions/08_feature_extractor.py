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


def _detach(value: Any) -> Any:
    """Detach a tensor, or every tensor inside a (possibly nested) tuple or list."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple keeps its type
        return type(value)(*(_detach(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_detach(v) for v in value)
    return value


class FeatureExtractor:
    """Records the outputs of named layers of `model` with forward hooks."""

    def __init__(self, model: nn.Module, layer_names: Sequence[str]) -> None:
        self.model = model
        self.layer_names = list(layer_names)
        # Validate every name first: if we registered as we went, a bad name in the middle would
        # leave the earlier hooks on the model with no extractor to remove them.
        modules = dict(model.named_modules())
        unknown = [name for name in self.layer_names if name not in modules]
        if unknown:
            known = ", ".join(repr(n) for n in list(modules)[:12])
            raise ValueError(f"unknown layer name(s) {unknown}; named_modules() has {known}, ...")
        # Instance attributes, created here: a class-level dict would be shared by all extractors.
        self._features: dict[str, Any] = {}
        self._handles: list[RemovableHandle] = []
        for name in self.layer_names:
            self._handles.append(modules[name].register_forward_hook(self._make_hook(name)))

    def _make_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            # The third argument is the layer's output. Detach it so the stored feature does not
            # keep the autograd graph alive. Return None: a returned value would replace the
            # layer's output (and a detached one would cut the gradient flow at this layer).
            self._features[name] = _detach(output)

        return hook

    def get_features(self) -> dict[str, Any]:
        """{layer name: the latest output of that layer, detached}."""
        # A copy, so the caller cannot change what the extractor holds.
        return dict(self._features)

    def remove_hooks(self) -> None:
        """Remove every hook this extractor registered; calling it twice is fine."""
        # Only our own handles: other hooks on the same modules stay where they are.
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
