"""Tensor-aware assertions for the checks: short messages that name shape, dtype, device and the
largest error with its position, never a wall of numbers.

These run in the judge, which never runs learner code; what they compare arrived from the subject
over `kata_runner.wire` as plain tensors. (The torch functions are still captured at import, a habit
from the days when learner code shared this process; it costs nothing.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import torch

_is_tensor = torch.is_tensor
_isfinite = torch.isfinite
_equal = torch.equal
_abs = torch.Tensor.abs
_sub = torch.Tensor.sub
_argmax = torch.Tensor.argmax
_allclose = torch.allclose
_float64 = torch.float64


class SpecFailure(AssertionError):
    """A spec's verdict: the message is written for the learner."""


def fail(message: str) -> NoReturn:
    raise SpecFailure(message)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of element `flat` of a tensor of `shape` (torch.unravel_index imports sympy: about 1 s)."""
    index = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        index.append(rest)
    return tuple(reversed(index))


def _describe(t: torch.Tensor) -> str:
    return f"shape {tuple(t.shape)}, dtype {t.dtype}, device {t.device.type}"


def _default_tolerances(dtype: torch.dtype) -> tuple[float, float]:
    if dtype in (torch.float16, torch.bfloat16):
        return 1e-2, 1e-2
    if dtype == torch.float64:
        return 1e-7, 1e-9
    return 1.3e-5, 1e-5


def assert_tensor(value: Any, what: str) -> torch.Tensor:
    if not _is_tensor(value):
        fail(f"{what} should be a torch.Tensor, got {type(value).__name__}.")
    return value


def assert_close(
    actual: Any,
    expected: torch.Tensor,
    what: str = "the output",
    *,
    rtol: float | None = None,
    atol: float | None = None,
    why: str = "",
    check_device: bool = True,
) -> None:
    """Fail unless `actual` matches `expected` in shape, dtype, device and values."""
    actual = assert_tensor(actual, what)
    suffix = f" {why}" if why else ""
    if tuple(actual.shape) != tuple(expected.shape):
        fail(f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}.{suffix}")
    if actual.dtype != expected.dtype:
        fail(f"{what} has dtype {actual.dtype}, expected {expected.dtype}.{suffix}")
    if check_device and actual.device != expected.device:
        fail(f"{what} is on device {actual.device}, expected {expected.device}.{suffix}")
    default_rtol, default_atol = _default_tolerances(expected.dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    a = actual.detach().to(device="cpu", dtype=_float64)
    e = expected.detach().to(device="cpu", dtype=_float64)
    if _allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return
    if a.numel() == 0:
        return
    finite = _isfinite(a)
    if not bool(finite.all()) and bool(_isfinite(e).all()):
        bad = int((~finite).sum())
        fail(f"{what} contains {bad} non-finite value(s) (nan or inf); expected finite values.{suffix}")
    diff = _abs(_sub(a, e))
    flat = int(_argmax(diff.nan_to_num(nan=float("inf")).reshape(-1)))
    where = _unravel(flat, tuple(a.shape))
    max_abs = float(diff.reshape(-1)[flat])
    ref = float(_abs(e).reshape(-1)[flat])
    rel = max_abs / ref if ref else float("inf")
    mismatched = int((diff > atol + rtol * _abs(e)).sum())
    fail(
        f"{what} differs from the expected value ({_describe(actual)}): {mismatched} of {a.numel()} "
        f"elements are off; largest error {max_abs:.4g} (relative {rel:.3g}) at index {where}: "
        f"got {float(a.reshape(-1)[flat]):.6g}, expected {float(e.reshape(-1)[flat]):.6g} "
        f"(rtol={rtol:g}, atol={atol:g}).{suffix}"
    )


def assert_equal(actual: Any, expected: torch.Tensor, what: str = "the output", *, why: str = "") -> None:
    """Exact comparison: same shape, dtype, device and every element equal."""
    assert_close(actual, expected, what, rtol=0.0, atol=0.0, why=why)


def assert_shape(actual: Any, shape: Sequence[int], what: str = "the output", *, why: str = "") -> None:
    actual = assert_tensor(actual, what)
    if tuple(actual.shape) != tuple(shape):
        fail(f"{what} has shape {tuple(actual.shape)}, expected {tuple(shape)}.{' ' + why if why else ''}")


def assert_on_device(actual: Any, device: torch.device, what: str) -> None:
    actual = assert_tensor(actual, what)
    if actual.device.type != torch.device(device).type:
        fail(f"{what} is on {actual.device.type}, expected {torch.device(device).type}.")


def assert_keys(actual: Any, expected: Sequence[str], what: str, *, why: str = "") -> None:
    got = sorted(actual)
    want = sorted(expected)
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"unexpected {extra}")
        fail(f"{what} should be exactly {want}: {'; '.join(parts) or f'got {got}'}.{' ' + why if why else ''}")


def each(cases: Sequence[Any], observed: Any, what: str = "the observations") -> list[tuple[Any, Any]]:
    """Pair each case the judge sent with what the subject observed for it. A batch that comes back with
    another length (or not as a list) fails: a spec never loops over an empty or short collection."""
    if type(observed) is not list or len(observed) != len(cases) or not cases:
        count = len(observed) if isinstance(observed, list) else type(observed).__name__
        fail(f"{what}: {len(cases)} case(s) were sent, but {count} came back.")
    return list(zip(cases, observed))
