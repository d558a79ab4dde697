"""Inputs for the specs, drawn with Hypothesis across a kata's whole documented domain.

Specs draw *descriptions* (`TensorSpec`: shape, dtype, layout, a seed for the values) and build the
tensor on the spec's device in the judge. Failures describe the input in words with `describe()`;
a Hypothesis dump never reaches the learner. Runs are deterministic (`derandomize`), write no example
database, and are bounded by `max_examples`.
"""

from __future__ import annotations

import functools
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import torch
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import UnsatisfiedAssumption

__all__ = ["given", "settings", "st", "TensorSpec", "tensors", "sizes", "batches", "describe", "FLOAT_DTYPES",
           "examples"]

# Shrinking stops after this many further tries once a spec has failed: counted, not timed, so that the
# reported input does not depend on the machine's load. Only the first failing spec of each judge group
# of a check module shrinks (the plugin splits a module's specs into defaults.JUDGES groups, which may
# run side by side): the first of them is the message `kata check` explains, and later failures report
# the first failing input Hypothesis found (still described in words), which keeps a wrong kata about
# as fast to grade as a right one. Groups are fixed by the specs' order, never by how many run at once,
# so a message does not depend on the machine.
SHRINK_TRIES = 12
_shrunk: set[tuple[str, int]] = set()
judge_group = 0  # the running spec's group: set by the plugin before each spec


class ShrinkBudgetSpent(BaseException):
    """Hypothesis was still looking for a smaller failing input when the spec's shrinking budget ran
    out: the spec fails with the smallest failure found so far (`failure`)."""

    def __init__(self, failure: BaseException) -> None:
        super().__init__(str(failure))
        self.failure = failure


def given(*strategies: Any, **named: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """hypothesis.given, with shrinking bounded to SHRINK_TRIES tries after the first failure, so that a
    wrong implementation fails in about the time a right one passes."""

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        state: dict[str, Any] = {}

        @functools.wraps(test)
        def attempt(*args: Any, **kwargs: Any) -> Any:
            # The body always runs, even past the budget: a spec that draws inside (st.data()) must make
            # the same draws every time, or Hypothesis reports a flaky strategy instead of the failure.
            failure = state.get("failure")
            if failure is not None:
                state["tries"] += 1
            try:
                result = test(*args, **kwargs)
            except UnsatisfiedAssumption:
                raise  # hypothesis.assume(): not a failure
            except Exception as exc:
                if failure is None:
                    state["tries"] = 0
                    group = (test.__module__, judge_group)
                    state["budget"] = -1 if group in _shrunk else SHRINK_TRIES
                    _shrunk.add(group)
                state["failure"] = exc
                if state["tries"] > state["budget"]:
                    raise ShrinkBudgetSpent(exc) from None
                raise
            if failure is not None and state["tries"] > state["budget"]:
                raise ShrinkBudgetSpent(failure)
            return result

        searched = hypothesis.given(*strategies, **named)(attempt)

        @functools.wraps(searched)
        def run(*args: Any, **kwargs: Any) -> Any:
            state.clear()
            return searched(*args, **kwargs)

        return run

    return decorate


def _register_hypothesis_prng_up_front() -> None:
    """On its first test Hypothesis registers its own PRNG with gc.collect() and gc.get_referrers(), which
    scan every live object, torch's included: 0.1-0.5 s in every grading child. Registering it here, once,
    in the process the children are forked from, skips that scan. (Private API: on any change, fall back
    to Hypothesis's own way.)"""
    try:
        from random import Random

        import hypothesis.core
        from hypothesis.internal import entropy

        local = hypothesis.core.threadlocal
        if getattr(local, "_hypothesis_global_random", None) is None:
            local._hypothesis_global_random = Random()
            entropy.RANDOMS_TO_MANAGE[next(entropy._RKEY)] = local._hypothesis_global_random
        # Likewise numpy's global PRNG, which Hypothesis wraps (importing numpy.random) on a test's first run.
        if "numpy" in sys.modules and entropy.NP_RANDOM is None:
            entropy.NP_RANDOM = entropy.RANDOMS_TO_MANAGE[next(entropy._RKEY)] = entropy.NumpyRandomWrapper()
    except (ImportError, AttributeError, TypeError):  # pragma: no cover
        pass


_register_hypothesis_prng_up_front()

# Hypothesis derives each test's seed from a digest of its source (inspect + tokenize: about 2 ms a test,
# paid again in every grading child). Cache it, and fill the cache before the children are forked.
_uncached_digest = hypothesis.core.function_digest
_digests: dict[tuple[int, bytes], bytes] = {}


def _function_digest(function: Any) -> bytes:
    key = (id(function), getattr(function, "_hypothesis_internal_add_digest", b""))
    found = _digests.get(key)
    if found is None:
        found = _digests[key] = _uncached_digest(function)
    return found


hypothesis.core.function_digest = _function_digest


def precompute_digests(items: Any) -> None:
    """Compute the digests of these pytest items' Hypothesis tests, as Hypothesis's pytest plugin will
    ask for them (keyed by the item's node id)."""
    for item in items:
        inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test", None)
        if inner is None:
            continue
        saved = vars(inner).pop("_hypothesis_internal_add_digest", None)
        _function_digest(inner)  # as a plain pytest run without the plugin asks
        inner._hypothesis_internal_add_digest = item.nodeid.encode()
        _function_digest(inner)  # as the plugin asks, for a parametrized item
        if saved is None:
            del inner._hypothesis_internal_add_digest
        else:
            inner._hypothesis_internal_add_digest = saved

def _no_local_constants() -> Any:
    return _EMPTY_CONSTANTS


# Hypothesis mixes constants found in "local" modules (any module loaded from outside site-packages) into
# what it draws. Which modules are loaded differs between `kata check`, a plain pytest run and the
# harness's own tests, so one spec would draw different inputs in each: use none. (It also saves scanning
# every loaded module's source, about 80 ms at collection.) Private API: on any change, keep Hypothesis's.
try:
    from hypothesis.internal.conjecture import providers as _providers

    _EMPTY_CONSTANTS = _providers.Constants()
    _providers._get_local_constants = _no_local_constants
except (ImportError, AttributeError):  # pragma: no cover
    pass

# Hypothesis keeps a cache (.hypothesis/) in the working directory, which is the learner's project:
# put it in the temporary folder instead. (No example database is kept at all: database=None below.)
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "torch-katas-hypothesis")

settings.register_profile(
    "kata",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=12,
    print_blob=False,
    report_multiple_bugs=False,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
)
settings.load_profile("kata")


def examples(n: int) -> Any:
    """`@examples(n)`: a spec draws `n` inputs (the default is 12)."""
    return settings(max_examples=n)


FLOAT_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    layout: str = "contiguous"
    seed: int = 0
    scale: float = 1.0

    def make(self, device: torch.device | str, requires_grad: bool = False) -> torch.Tensor:
        return make_tensor(self.shape, self.dtype, device, self.layout, self.seed, self.scale, requires_grad)

    def describe(self, what: str = "input") -> str:
        return describe_layout(self.layout, self.dtype, self.shape, what)


def make_tensor(
    shape: tuple[int, ...],
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    layout: str = "contiguous",
    seed: int = 0,
    scale: float = 1.0,
    requires_grad: bool = False,
) -> torch.Tensor:
    """A tensor of `shape` with values ~ scale * N(0, 1) from `seed`, laid out as `layout`:
    contiguous; transposed (its last two dimensions are swapped in memory); sliced (every other
    element of a wider tensor along the last dimension); expanded (stride 0 along the first dimension)."""
    generator = torch.Generator().manual_seed(seed)

    def values(*size: int) -> torch.Tensor:
        return (torch.randn(size, generator=generator, dtype=torch.float64) * scale).to(dtype)

    if layout == "transposed" and len(shape) >= 2:
        t = values(*shape[:-2], shape[-1], shape[-2]).transpose(-1, -2)
    elif layout == "sliced" and len(shape) >= 1 and shape[-1] > 0:
        t = values(*shape[:-1], 2 * shape[-1])[..., ::2]
    elif layout == "expanded" and len(shape) >= 2 and shape[0] > 1:
        t = values(1, *shape[1:]).expand(*shape)
    else:
        t = values(*shape)
    t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def describe_layout(layout: str, dtype: torch.dtype, shape: tuple[int, ...], what: str = "input") -> str:
    words = {"contiguous": "", "transposed": "transposed ", "sliced": "non-contiguous ", "expanded": "expanded "}
    text = f"{words.get(layout, '')}{str(dtype).removeprefix('torch.')} {what} of shape {tuple(shape)}"
    return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"


def describe(t: torch.Tensor, what: str = "input") -> str:
    """In words: `a non-contiguous float64 input of shape (2, 5, 4)`."""
    if t.dim() and 0 in t.stride() and t.numel() > 1:
        layout = "expanded"
    elif not t.is_contiguous():
        layout = "transposed" if t.dim() >= 2 and t.transpose(-1, -2).is_contiguous() else "sliced"
    else:
        layout = "contiguous"
    return describe_layout(layout, t.dtype, tuple(t.shape), what)


def batches(strategy: st.SearchStrategy[Any], max_size: int = 8) -> st.SearchStrategy[list[Any]]:
    """Up to `max_size` cases judged with one call into the subject. Cheaper than one Hypothesis example
    per case (each costs a round trip and the engine's own bookkeeping); on a failure Hypothesis shrinks
    the batch down to the case that fails."""
    return st.lists(strategy, min_size=1, max_size=max_size)


def sizes(min_value: int = 1, max_value: int = 8) -> st.SearchStrategy[int]:
    return st.integers(min_value, max_value)


@st.composite
def tensors(
    draw: Any,
    trailing: tuple[int, ...] = (),
    *,
    min_leading: int = 0,
    max_leading: int = 3,
    max_side: int = 5,
    dtypes: tuple[torch.dtype, ...] = (torch.float32, torch.float64),
    layouts: tuple[str, ...] = LAYOUTS,
    scale: float = 1.0,
) -> TensorSpec:
    """A TensorSpec of shape (*leading, *trailing): 0 to 3 leading dimensions of 1 to `max_side`."""
    leading = draw(st.lists(st.integers(1, max_side), min_size=min_leading, max_size=max_leading))
    shape = (*leading, *trailing)
    layout = draw(st.sampled_from([lay for lay in layouts if _layout_fits(lay, shape)] or ["contiguous"]))
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2**16))
    return TensorSpec(shape, dtype, layout, seed, scale)


def _layout_fits(layout: str, shape: tuple[int, ...]) -> bool:
    if layout == "transposed":
        return len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1
    if layout == "sliced":
        return len(shape) >= 1 and shape[-1] > 0
    if layout == "expanded":
        return len(shape) >= 2 and shape[0] > 1
    return True


def tolerance(dtype: torch.dtype, terms: int = 1) -> dict[str, float]:
    """rtol/atol for comparing a result computed in `dtype` with a float64 reference, for sums of
    `terms` products (the error of a reduction grows with its length)."""
    eps = torch.finfo(dtype).eps
    if dtype == torch.float64:
        return {"rtol": 1e-7, "atol": 1e-9 * terms}
    return {"rtol": 4 * eps * max(1, terms) ** 0.5, "atol": 4 * eps * terms}
