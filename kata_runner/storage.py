"""The harness's own files under .kata/: hint progress, the result cache and backups.

Every write is atomic (a temporary file, fsync, then rename), so a run killed half-way leaves the
previous version intact, and a corrupt file is set aside rather than crashing the CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from kata_runner.registry import state_dir


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            path.replace(path.with_suffix(f".corrupt-{int(time.time())}"))
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=1))


class State:
    """Small learner state: how many hints of each kata have been shown."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or state_dir()) / "state.json"

    def hints_shown(self, kata_id: str) -> int:
        return int(read_json(self.path).get("hints", {}).get(kata_id, 0))

    def set_hints_shown(self, kata_id: str, count: int) -> None:
        data = read_json(self.path)
        data.setdefault("hints", {})[kata_id] = count
        write_json(self.path, data)

    def forget_hints(self, kata_id: str) -> None:
        """Start the kata's hints from the first one again (after a reset)."""
        data = read_json(self.path)
        if data.get("hints", {}).pop(kata_id, None) is not None:
            write_json(self.path, data)


def backup(path: Path, directory: Path | None = None) -> Path:
    """Copy `path` byte for byte into .kata/backups/ with a timestamp; return where it went. Never decodes:
    a file saved in another encoding is kept exactly as it was."""
    directory = directory or state_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = directory / "backups" / f"{path.stem}.{stamp}{path.suffix}"
    counter = 1
    while target.exists():
        target = target.with_name(f"{path.stem}.{stamp}-{counter}{path.suffix}")
        counter += 1
    atomic_write_bytes(target, path.read_bytes())
    return target
