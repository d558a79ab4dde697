"""What probes (the check-module functions that run in the subject, beside the learner's code) use.

A probe receives the learner's module and the judge's inputs, exercises the learner's code the way a
user would, and returns plain observations: tensors, numbers, strings, lists and dicts. It decides
nothing; the judge compares what it returns with what it computed itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from kata_runner.subject import describe_exception, probe

__all__ = ["probe", "outcome", "snapshot", "names"]


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call `function`; return {"value": result} or {"raised": {"type", "types", "message"}}, so that a
    spec can check which exception was raised (and what was left behind) without ending the probe.
    NotImplementedError passes through, so that an untouched stub is graded "not started"."""
    try:
        return {"value": function(*args, **kwargs), "raised": None}
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the spec decides whether this was the right exception
        info = describe_exception(exc, _learner_file(function))
        return {"value": None, "raised": info}


def _learner_file(function: Callable[..., Any]) -> Path:
    code = getattr(function, "__code__", None) or getattr(getattr(function, "__func__", None), "__code__", None)
    return Path(code.co_filename) if code else Path("<unknown>")


def snapshot(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached copies (a state_dict, named_parameters as a dict), safe to return after later changes."""
    return {str(k): v.detach().clone() if v is not None else None for k, v in dict(tensors).items()}


def names(pairs: Any) -> list[str]:
    """The names of named_parameters()/named_buffers()/named_modules(), in order."""
    return [str(name) for name, _ in pairs]
