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
from torch import nn

_is_tensor = torch.is_tensor
_isfinite = torch.isfinite
_equal = torch.equal
_abs = torch.Tensor.abs
_sub = torch.Tensor.sub
_argmax = torch.Tensor.argmax
_unravel = torch.unravel_index
_allclose = torch.allclose
_float64 = torch.float64


class SpecFailure(AssertionError):
    """A spec's verdict: the message is written for the learner."""


def fail(message: str) -> NoReturn:
    raise SpecFailure(message)


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
    where = tuple(int(i) for i in _unravel(torch.tensor(flat), a.shape)) if a.dim() else ()
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


def assert_no_history(actual: Any, what: str, *, why: str = "") -> None:
    """The tensor must not be part of an autograd graph (no grad_fn, no requires_grad)."""
    actual = assert_tensor(actual, what)
    if actual.grad_fn is not None or actual.requires_grad:
        grad_fn = type(actual.grad_fn).__name__ if actual.grad_fn else None
        fail(
            f"{what} carries autograd history (grad_fn={grad_fn}, requires_grad={actual.requires_grad}). "
            f"Detach it or compute it under torch.no_grad().{' ' + why if why else ''}"
        )


def assert_parameter(module: nn.Module, name: str, *, why: str = "") -> nn.Parameter:
    """`module.<name>` must be an nn.Parameter registered under that name."""
    value = getattr(module, name, None)
    if value is None:
        fail(f"{type(module).__name__} has no attribute '{name}'.{' ' + why if why else ''}")
    if not isinstance(value, nn.Parameter):
        fail(
            f"{type(module).__name__}.{name} is a {type(value).__name__}, not an nn.Parameter: nn.Module only "
            f"tracks tensors wrapped in nn.Parameter, so parameters(), state_dict() and optimizers never see "
            f"it.{' ' + why if why else ''}"
        )
    if dict(module.named_parameters(recurse=False)).get(name) is not value:
        fail(f"{type(module).__name__}.{name} is an nn.Parameter but is not registered under the name '{name}'.")
    return value


def assert_buffer(module: nn.Module, name: str, *, why: str = "") -> torch.Tensor:
    """`module.<name>` must be a registered buffer (not a Parameter, not a plain attribute)."""
    value = getattr(module, name, None)
    if isinstance(value, nn.Parameter):
        fail(
            f"{type(module).__name__}.{name} is an nn.Parameter, but it is a statistic, not a learned weight: "
            f"register it with register_buffer so optimizers never touch it.{' ' + why if why else ''}"
        )
    if name not in module._buffers:
        fail(
            f"{type(module).__name__}.{name} is not a registered buffer: a plain tensor attribute is not saved in "
            f"state_dict() and does not move with .to(device). Use self.register_buffer('{name}', ...)."
            f"{' ' + why if why else ''}"
        )
    buffer = module._buffers[name]
    if buffer is None:
        fail(f"{type(module).__name__}.{name} is registered as a buffer, but holds None instead of a tensor.")
    return buffer


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


def assert_gradients_match_finite_differences(
    fn: Any, inputs: Sequence[torch.Tensor], what: str, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> None:
    """A gradcheck in float64: every input's analytical Jacobian must match central differences.

    Written with scalar backward passes (no grad_outputs), which keeps it light: torch.autograd.gradcheck
    pulls in sympy on first use, 0.7 s that would dominate a kata's whole check time.
    """
    inputs = [t.detach().to(_float64).requires_grad_(True) for t in inputs]
    out = fn(*inputs)
    flat_out = out.reshape(-1)
    analytical = [torch.zeros(flat_out.numel(), t.numel(), dtype=_float64) for t in inputs]
    for row in range(flat_out.numel()):
        grads = torch.autograd.grad(flat_out[row], inputs, retain_graph=True, allow_unused=True)
        for jac, grad in zip(analytical, grads):
            if grad is not None:
                jac[row] = grad.reshape(-1).cpu()
    with torch.no_grad():
        for index, (tensor, jac) in enumerate(zip(inputs, analytical)):
            flat = tensor.view(-1)
            numerical = torch.zeros_like(jac)
            for col in range(flat.numel()):
                original = float(flat[col])
                flat[col] = original + eps
                plus = fn(*inputs).reshape(-1).cpu()
                flat[col] = original - eps
                minus = fn(*inputs).reshape(-1).cpu()
                flat[col] = original
                numerical[:, col] = (plus - minus) / (2 * eps)
            if not _allclose(jac, numerical, atol=atol, rtol=rtol):
                error = float(_abs(_sub(jac, numerical)).max())
                fail(
                    f"{what}: the gradient with respect to input {index} (shape {tuple(tensor.shape)}) does not match "
                    f"finite differences (largest difference {error:.3g}): backward does not compute the derivative "
                    "of forward."
                )


def attempt(fn: Any, *args: Any, doing: str, why: str = "", **kwargs: Any) -> Any:
    """Call `fn`; turn an exception into a failure that says what was being done and why it matters.

    NotImplementedError passes through untouched, so untouched stubs are graded "not started".
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error in learner code becomes a readable verdict
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300].rstrip(".")
        raise SpecFailure(f"{doing} raised {detail}.{' ' + why if why else ''}") from exc
