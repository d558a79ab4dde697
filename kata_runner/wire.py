"""The one format observations and inputs cross the judge/subject boundary in.

A value is turned into a JSON tree plus a list of raw byte blobs (one per tensor). Decoding builds
only exact base types: None, bool, int, float, str, list, tuple, dict, torch.dtype, torch.device and
plain torch.Tensor. Nothing is ever unpickled, so no class of the learner's can reach the judge, and
a value that claims to be anything else (an object whose `__eq__` is always true, a dict subclass with
a lying `items`) arrives as an `Opaque` description that never compares equal to a real result.

The decoder treats its input as hostile: every field is type-checked and sizes are capped.
"""

from __future__ import annotations

import json
import math
import struct
import weakref
from dataclasses import dataclass
from typing import Any

import torch

MAX_DEPTH = 64
MAX_ITEMS = 200_000
MAX_BLOB_BYTES = 512 * 2**20
MAX_HEADER_BYTES = 64 * 2**20

_DTYPES: dict[str, torch.dtype] = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (
        torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
        torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool,
    )
}
_DTYPE_NAMES = {dtype: name for name, dtype in _DTYPES.items()}


class WireError(Exception):
    """A value that cannot cross the boundary, or a message that is not well formed."""


@dataclass(frozen=True, eq=False)
class Opaque:
    """Something the subject returned that is not a plain observation: only its type name is kept."""

    type_name: str
    text: str = ""

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


@dataclass(frozen=True)
class TensorInfo:
    """What the subject said about a tensor besides its values (a self-report: judge by values)."""

    requires_grad: bool
    has_grad_fn: bool
    grad_fn: str
    is_parameter: bool
    type_name: str


# Kept beside the tensors, by identity, not on them: an attribute would be pickled by torch.save (and a
# WeakKeyDictionary compares keys with Tensor.__eq__).
_INFO: dict[int, TensorInfo] = {}


def info(tensor: torch.Tensor) -> TensorInfo:
    """The subject's description of a tensor decoded from it (requires_grad, grad_fn, class name)."""
    found = _INFO.get(id(tensor))
    if found is None:
        raise WireError("this tensor did not come from the subject")
    return found


# ----------------------------------------------------------------------------------------- encode


def encode(value: Any) -> tuple[Any, list[bytes]]:
    blobs: list[bytes] = []
    count = [0]
    with torch._C.DisableTorchFunction():
        tree = _encode(value, blobs, 0, count)
    return tree, blobs


def _encode(value: Any, blobs: list[bytes], depth: int, count: list[int]) -> Any:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise WireError("the value is nested too deeply or is too large to send")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return {"$int": str(value)} if abs(value) >= 2**53 else value
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value, blobs)
    if kind is torch.dtype:
        return {"$dtype": _DTYPE_NAMES.get(value, str(value))}
    if kind is torch.device:
        return {"$device": str(value)}
    if kind is torch.Size:
        return {"$tuple": [int(v) for v in tuple.__iter__(value)]}
    if isinstance(value, dict):
        items = [[_encode(k, blobs, depth + 1, count), _encode(v, blobs, depth + 1, count)]
                 for k, v in dict.items(value)]
        return {"$dict": items, "type": kind.__name__}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, blobs, depth + 1, count) for v in tuple.__iter__(value)], "type": kind.__name__}
    if isinstance(value, list):
        return {"$list": [_encode(v, blobs, depth + 1, count) for v in list.__iter__(value)], "type": kind.__name__}
    if kind in (set, frozenset):
        return {"$set": [_encode(v, blobs, depth + 1, count) for v in value]}
    if isinstance(value, BaseException):
        return {"$opaque": kind.__name__, "text": str(value)[:300]}
    return {"$opaque": getattr(kind, "__name__", "object"), "text": ""}


def _encode_tensor(t: torch.Tensor, blobs: list[bytes]) -> dict[str, Any]:
    base = torch.Tensor.detach(t)
    if base.dtype not in _DTYPE_NAMES:  # quantized dtypes included
        raise WireError(f"tensors of dtype {base.dtype} cannot be sent")
    if base.is_meta:
        raise WireError("meta tensors hold no values to send")
    if base.layout != torch.strided:  # sparse
        base = base.to_dense()
    size = list(base.shape)
    stride = list(base.stride())
    offset = int(base.storage_offset())
    # Send the smallest span of the storage the view touches, so that layout (transposed, expanded,
    # sliced) survives the trip.
    span = _span(size, stride)
    flat = torch.as_strided(base, (span,), (1,), offset) if span else base.new_empty((0,))
    data = flat.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if span else b""
    blobs.append(data)
    grad_fn = t.grad_fn
    return {
        "$tensor": len(blobs) - 1,
        "dtype": _DTYPE_NAMES[base.dtype],
        "size": size,
        "stride": stride,
        "device": str(base.device),
        "requires_grad": bool(t.requires_grad),
        "grad_fn": type(grad_fn).__name__ if grad_fn is not None else "",
        "parameter": isinstance(t, torch.nn.Parameter),
        "type": type(t).__name__,
    }


def _span(size: list[int], stride: list[int]) -> int:
    """How many storage elements a strided view reaches, from its first to its last."""
    return 1 + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else 0


# ----------------------------------------------------------------------------------------- decode


def decode(tree: Any, blobs: list[bytes]) -> Any:
    """Rebuild a value from `encode`'s output. Whatever is wrong with a message (a bad number, an unknown
    device, a tensor that does not fit its data) raises WireError."""
    try:
        return _decode(tree, blobs, 0)
    except (ValueError, TypeError, RuntimeError, OverflowError, KeyError) as exc:
        raise WireError(f"malformed message: {exc}") from None


def _device(name: str) -> torch.device:
    """The device a tensor was on, or the CPU when this process has no such device."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return device


def _decode(tree: Any, blobs: list[bytes], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("message nested too deeply")
    if tree is None or type(tree) in (bool, int, float, str):
        return tree
    if type(tree) is list:
        raise WireError("bare list in message")
    if type(tree) is not dict or len(tree) == 0:
        raise WireError(f"unexpected {type(tree).__name__} in message")
    tag = next(iter(tree))
    body = tree[tag]
    down = depth + 1
    if tag == "$int":
        return int(_str(body))
    if tag == "$float":
        return float(_str(body))
    if tag == "$dtype":
        if _str(body) not in _DTYPES:
            raise WireError(f"unknown dtype {body!r}")
        return _DTYPES[body]
    if tag == "$device":
        return torch.device(_str(body))
    if tag == "$tuple":
        return tuple(_decode(v, blobs, down) for v in _list(body))
    if tag == "$list":
        return [_decode(v, blobs, down) for v in _list(body)]
    if tag == "$set":
        return {_decode(v, blobs, down) for v in _list(body)}
    if tag == "$dict":
        out: dict[Any, Any] = {}
        for pair in _list(body):
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed dict entry")
            key = _decode(pair[0], blobs, down)
            if type(key) not in (str, int, float, bool, tuple, type(None)):
                raise WireError("dict keys must be plain values")
            out[key] = _decode(pair[1], blobs, down)
        return out
    if tag == "$opaque":
        return Opaque(_str(body), _str(tree.get("text", "")))
    if tag == "$tensor":
        return _decode_tensor(tree, blobs)
    raise WireError(f"unknown tag {tag!r}")


def _str(value: Any) -> str:
    if type(value) is not str:
        raise WireError("expected a string in message")
    return value


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise WireError("expected a list in message")
    return value


def _ints(value: Any) -> list[int]:
    items = _list(value)
    if any(type(v) is not int or v < 0 for v in items) or len(items) > 32:
        raise WireError("malformed tensor geometry")
    return items


def _decode_tensor(tree: dict[str, Any], blobs: list[bytes]) -> torch.Tensor:
    index = tree["$tensor"]
    if type(index) is not int or not 0 <= index < len(blobs):
        raise WireError("tensor refers to a missing blob")
    dtype = _DTYPES.get(_str(tree.get("dtype")))
    if dtype is None:
        raise WireError("unknown tensor dtype")
    size, stride = _ints(tree.get("size")), _ints(tree.get("stride"))
    if len(size) != len(stride):
        raise WireError("malformed tensor geometry")
    data = blobs[index]
    itemsize = torch.empty((), dtype=dtype).element_size()
    span = _span(size, stride)
    if len(data) != span * itemsize:
        raise WireError("tensor data does not match its geometry")
    if span:
        flat = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype)
        tensor = torch.as_strided(flat, size, stride, 0)
    else:
        tensor = torch.empty(size, dtype=dtype)
    tensor = tensor.to(_device(_str(tree.get("device", "cpu"))))
    requires_grad = tree.get("requires_grad") is True
    if requires_grad and (dtype.is_floating_point or dtype.is_complex):
        tensor.requires_grad_(True)
    _INFO[id(tensor)] = TensorInfo(
        requires_grad=requires_grad,
        has_grad_fn=bool(tree.get("grad_fn")),
        grad_fn=str(tree.get("grad_fn") or ""),
        is_parameter=tree.get("parameter") is True,
        type_name=str(tree.get("type") or "Tensor"),
    )
    weakref.finalize(tensor, _INFO.pop, id(tensor), None)
    return tensor


# ----------------------------------------------------------------------------------------- frames


def pack(message: dict[str, Any], value: Any = None) -> bytes:
    """One frame: a header (JSON, with the encoded value under "value") followed by its blobs."""
    tree, blobs = encode(value)
    header = json.dumps({**message, "value": tree, "blobs": [len(b) for b in blobs]}).encode()
    return struct.pack("!Q", len(header)) + header + b"".join(blobs)


def unpack_header(raw: bytes) -> dict[str, Any]:
    header = json.loads(raw)
    if type(header) is not dict:
        raise WireError("malformed frame header")
    sizes = header.get("blobs", [])
    if type(sizes) is not list or any(type(n) is not int or n < 0 for n in sizes):
        raise WireError("malformed blob sizes")
    if sum(sizes) > MAX_BLOB_BYTES:
        raise WireError(f"the value is too large to send (over {MAX_BLOB_BYTES // 2**20} MB)")
    return header
