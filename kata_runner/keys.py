"""Single key presses from a terminal, for `kata watch`: cbreak mode while watching, restored on exit."""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable, Iterator

try:
    import termios
    import tty
except ImportError:  # pragma: no cover - Windows: no single keys, watch still re-checks on save
    termios = None  # type: ignore[assignment]
    tty = None  # type: ignore[assignment]


@contextlib.contextmanager
def single_keys(fd: int | None) -> Iterator[bool]:
    """Put the terminal on `fd` in cbreak mode (each key arrives at once, not echoed; Ctrl-C still interrupts)
    and restore its settings on the way out, however the block ends. Yields whether keys can be read."""
    if fd is None or termios is None or not os.isatty(fd):
        yield False
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_keys(fd: int, on_key: Callable[[str], None], stop: threading.Event, on_end: Callable[[], None]) -> None:
    """Call `on_key` with each key read from `fd` until `stop` is set; `on_end` once the input closes."""
    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            data = os.read(fd, 32)
        except OSError:
            data = b""
        if not data:
            on_end()
            return
        for char in data.decode("utf-8", "replace"):
            on_key(char)
