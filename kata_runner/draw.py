"""Inputs for the specs, drawn with Hypothesis across a kata's whole documented domain.

Specs draw *descriptions* (`TensorSpec`: shape, dtype, layout, a seed for the values) and build the
tensor on the spec's device in the judge. Failures describe the input in words with `describe()`;
a Hypothesis dump never reaches the learner. Runs are deterministic (`derandomize`), write no example
database, and are bounded by `max_examples`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import mmap
import sys
import tempfile
import time
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
# reported input does not depend on the machine's load. Only a check module's first failing spec (in file
# order) shrinks: its message is the one `kata check` explains, and later failures report the first
# failing input Hypothesis found (still described in words), which keeps a wrong kata about as fast to
# grade as a right one. Where several judges work through one module side by side, they share its
# `Progress`, so the rule, and every message, stays the same however many judge it.
SHRINK_TRIES = 12
UNDECIDED, DONE, FAILED = 0, 1, 2
WAIT_SECONDS = 10.0  # at most, for the judge of an earlier spec to decide it (it may have died)


class Progress:
    """Where a check module's specs stand, for the shrinking rule: undecided, done, or failed (a drawn
    input failed it). Kept in an anonymous shared mapping where several judges share the module."""

    def __init__(self, nodeids: list[str], shared: bool = False) -> None:
        self.index = {nodeid: number for number, nodeid in enumerate(nodeids)}
        size = max(1, len(nodeids))
        self.shared = shared
        self.board: Any = mmap.mmap(-1, size) if shared else bytearray(size)

    def keep_from_children(self) -> None:
        """Processes forked from here on (a fork server, and so every subject) do not get the shared board:
        learner code must not reach what its judges share."""
        if isinstance(self.board, mmap.mmap) and hasattr(mmap, "MADV_DONTFORK"):
            self.board.madvise(mmap.MADV_DONTFORK)

    def mark(self, nodeid: str, status: int) -> None:
        number = self.index.get(nodeid)
        if number is not None and self.board[number] != FAILED:
            self.board[number] = status

    def earlier_failed(self, nodeid: str, wait: bool = False) -> bool:
        """Has a spec before this one failed? With `wait`, where judges share the board, once every earlier
        spec is decided. (A board of one process never waits: under pytest-xdist, say, earlier specs may
        run in another worker, or not at all.)"""
        number = self.index.get(nodeid, 0)
        give_up = time.monotonic() + WAIT_SECONDS
        while True:
            earlier = bytes(self.board[:number])
            if FAILED in earlier:
                return True
            if not (wait and self.shared) or UNDECIDED not in earlier or time.monotonic() > give_up:
                return False
            time.sleep(0.002)


current: tuple[Progress, str] | None = None  # the running spec's module progress and node id (the plugin's)
_alone: dict[str, Progress] = {}  # outside pytest: one progress per module, in call order


def _standing(test: Callable[..., Any]) -> tuple[Progress, str]:
    if current is not None:
        return current
    progress = _alone.setdefault(test.__module__, Progress([]))
    progress.index.setdefault(test.__qualname__, len(progress.index))
    if len(progress.board) < len(progress.index):
        progress.board.extend(bytes(len(progress.index) - len(progress.board)))
    return progress, test.__qualname__


class ShrinkBudgetSpent(BaseException):
    """Hypothesis was still looking for a smaller failing input when the spec's shrinking budget ran
    out: the spec fails with the smallest failure found so far (`failure`)."""

    def __init__(self, failure: BaseException) -> None:
        super().__init__(str(failure))
        self.failure = failure


# Replayed examples. Runs are deterministic, so the inputs Hypothesis feeds a spec that passes are known
# before any learner code runs: a zygote that judges the same checks many times (a class run, the
# mutation gate) records them once, with a body that only notes its arguments, and each forked judge then
# calls the spec on them directly, without Hypothesis's engine (about a third of a passing spec's time).
# A spec that fails is run through Hypothesis from the start, which meets the same failure and shrinks
# it, where it is its module's first failure; later failures report the first failing input, as
# Hypothesis would.
# (tests/test_replay.py: the recorded inputs are the ones Hypothesis draws, and results do not change.)
_recording: list[dict[str, Any]] | None = None  # while recording: each call's drawn arguments
_recorded: dict[tuple[int, bytes | None], list[dict[str, Any]]] = {}  # (spec, seed key) -> drawn arguments
_replayed: set[int] = set()
_observed: dict[tuple[int, bytes | None], list[dict[str, Any]]] | None = None  # the inputs specs were given
replay = False  # set in forked judges only: the recorded objects are theirs to use


def given(*strategies: Any, **named: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """hypothesis.given, with shrinking bounded to SHRINK_TRIES tries after the first failure, so that a
    wrong implementation fails in about the time a right one passes, and with recorded examples replayed
    where there are some (see `record_examples`)."""

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        state: dict[str, Any] = {}

        @functools.wraps(test)
        def attempt(*args: Any, **kwargs: Any) -> Any:
            if _recording is not None:
                _recording.append({name: kwargs[name] for name in named})
                return None
            if _observed is not None:  # tests/test_replay.py
                _observed.setdefault(_key(attempt), []).append({name: kwargs[name] for name in named})
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
                progress, nodeid = _standing(test)
                if failure is None:
                    progress.mark(nodeid, FAILED)  # at once: a later spec elsewhere stops shrinking
                    state["tries"], state["first"] = 0, exc
                    state["budget"] = -1 if progress.earlier_failed(nodeid) else SHRINK_TRIES
                elif progress.earlier_failed(nodeid):
                    raise ShrinkBudgetSpent(state["first"]) from None
                state["failure"] = exc
                if state["tries"] > state["budget"]:
                    raise ShrinkBudgetSpent(exc) from None
                raise
            if failure is not None:
                progress, nodeid = _standing(test)
                if progress.earlier_failed(nodeid):
                    raise ShrinkBudgetSpent(state["first"])
                if state["tries"] > state["budget"]:
                    raise ShrinkBudgetSpent(failure)
            return result

        searched = hypothesis.given(*strategies, **named)(attempt)

        @functools.wraps(searched)
        def run(*args: Any, **kwargs: Any) -> Any:
            state.clear()
            examples = _recorded.get(_key(attempt)) if replay and not strategies else None
            if examples is not None:
                if id(examples) in _replayed:  # a spec's second item (another device): fresh objects
                    examples = copy.deepcopy(examples)
                _replayed.add(id(examples))
                failure = _replay(test, args, kwargs, examples)
                if failure is None:
                    return None
                if not isinstance(failure, UnsatisfiedAssumption):
                    progress, nodeid = _standing(test)
                    progress.mark(nodeid, FAILED)
                    if progress.earlier_failed(nodeid):
                        # Hypothesis would stop at this same first failing input without shrinking it.
                        raise ShrinkBudgetSpent(failure)
            try:
                return searched(*args, **kwargs)
            except (Exception, ShrinkBudgetSpent):
                first = state.get("first")
                progress, nodeid = _standing(test)
                if first is not None and progress.earlier_failed(nodeid, wait=True):
                    # An earlier spec, judged side by side, failed meanwhile: not this one's to shrink.
                    raise ShrinkBudgetSpent(first) from None
                raise

        run._kata_attempt = attempt  # type: ignore[attr-defined]
        return run

    return decorate


def _key(attempt: Any) -> tuple[int, bytes | None]:
    # Hypothesis seeds a spec from its source and this attribute, which its pytest plugin may set per item.
    return id(attempt), vars(attempt).get("_hypothesis_internal_add_digest")


def _replay(test: Callable[..., Any], args: Any, kwargs: dict[str, Any],
            examples: list[dict[str, Any]]) -> Exception | None:
    """Call the spec on each recorded example as Hypothesis would (its global PRNGs seeded per example); the
    first failure, if any, with torch's generators put back as they were for a run through Hypothesis.
    (A BaseException, such as a subject that stopped, ends the spec as it would under Hypothesis.)"""
    from hypothesis.internal.entropy import deterministic_PRNG

    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        for drawn in examples:
            with deterministic_PRNG():
                test(*args, **kwargs, **drawn)
    except Exception as exc:  # noqa: BLE001 - reported by the caller, or by Hypothesis's run
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        return exc
    return None


def record_examples(items: Any) -> int:
    """In a zygote, before judges are forked: the drawn arguments of every example of these pytest items,
    for the judges to replay. Returns how many specs were recorded."""
    global _recording
    count = 0
    for item in items:
        function: Any = getattr(item, "obj", None)
        attempt = getattr(function, "_kata_attempt", None)
        if attempt is None:
            continue
        wanted = inspect.signature(function).parameters
        fixtures: dict[str, Any] = {name: None for name in getattr(item, "fixturenames", ()) if name in wanted}
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "device" in fixtures:
            fixtures["device"] = torch.device(params.get("device", "cpu"))
        _recording = []
        try:
            function(**fixtures)
        except Exception:  # noqa: BLE001 - not replayable: the judge runs it through Hypothesis
            continue
        finally:
            drawn, _recording = _recording, None
        _recorded[_key(attempt)] = drawn
        count += 1
    return count


def forget_examples() -> None:
    """Drop what was recorded (for another session's specs)."""
    _recorded.clear()
    _replayed.clear()


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
    ask for them: keyed by the item's node id where the spec is marked with @pytest.mark.parametrize (the
    plugin's rule, with every health check suppressed as in the "kata" profile; `device` is parametrized
    through a fixture, which does not count)."""
    for item in items:
        inner = getattr(getattr(getattr(item, "obj", None), "hypothesis", None), "inner_test", None)
        if inner is None:
            continue
        if item.get_closest_marker("parametrize") is None:
            if "_hypothesis_internal_add_digest" not in vars(inner):
                _function_digest(inner)
            continue
        saved = vars(inner).get("_hypothesis_internal_add_digest")
        inner._hypothesis_internal_add_digest = item.nodeid.encode()
        _function_digest(inner)
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
