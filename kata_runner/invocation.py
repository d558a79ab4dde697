"""How the learner started this command, so every suggestion we print is one they can paste back."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from kata_runner.bootstrap import venv_python

VENV_PYTHON = venv_python()  # where the first-run set-up of a source checkout puts the engine


def _interpreter() -> str:
    """The Python the learner typed. The first-run set-up re-executes `python3 -m kata_runner` with .venv's
    Python by its absolute path; the learner typed something shorter."""
    typed = sys.orig_argv[0] if getattr(sys, "orig_argv", None) else ""
    if not typed or Path(typed).resolve() == VENV_PYTHON.resolve() and Path(typed).is_absolute():
        return "python" if os.name == "nt" else "python3"
    return typed


def program(argv0: str | None = None) -> str:
    """`python3 -m kata_runner` when run as a module, `kata` when that is what PATH finds, else the script's
    path as typed (`.venv/bin/kata`)."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    path = Path(argv0)
    if (path.name == "__main__.py" and path.parent.name == "kata_runner") or argv0 == "-m":
        return f"{_interpreter()} -m kata_runner"
    if path.stem != "kata":
        return "kata"  # embedded (tests, another tool): the documented name
    on_path = shutil.which("kata")
    if argv0 == "kata" or (on_path and Path(on_path).resolve() == path.resolve()):
        return "kata"
    return argv0


def command(*args: str) -> str:
    """A command line the learner can paste, e.g. command("check", "01") -> "python3 -m kata_runner check 01"."""
    return " ".join([program(), *args])
