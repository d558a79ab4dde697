"""Where the learner's project is, and paths as they should be printed from where the learner stands."""

from __future__ import annotations

import os
from pathlib import Path

from kata_runner.registry import COURSE_FILE, KATAS_DIR, PROJECT_ROOT

_learner_cwd: Path | None = None


def set_learner_cwd(folder: Path | None) -> None:
    """Remember the folder the learner ran the command from. Processes forked from this one inherit it, which
    matters for the subject: it works in /tmp (see sandbox.py) but must print paths as the learner sees them."""
    global _learner_cwd
    _learner_cwd = folder


def learner_cwd() -> Path:
    return _learner_cwd or Path.cwd()


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above `start` (default: the current folder) that holds a course.toml, or
    katas/ and checks/ (a learner's copy of a course's folders)."""
    here = (start or learner_cwd()).resolve()
    for folder in (here, *here.parents):
        if _holds_course(folder):
            return folder
    return None


def _holds_course(folder: Path) -> bool:
    try:
        return (folder / COURSE_FILE).is_file() or ((folder / "katas").is_dir() and (folder / "checks").is_dir())
    except OSError:  # a folder we may not look into (the subject runs as nobody, see sandbox.py)
        return False


def default_kata_dir() -> Path:
    """katas/ of the project the learner is in (from any sub-folder), else the course's."""
    root = find_project_root()
    return root / "katas" if root else KATAS_DIR


def display_path(path: Path | str) -> str:
    """Relative to the current folder (with ../ where needed) when the path lies in the learner's project or
    below the current folder, absolute otherwise: either way a path that terminals and IDEs make clickable."""
    try:
        target = Path(path).resolve()
        relative = os.path.relpath(target, learner_cwd())
    except (OSError, ValueError):  # ValueError: another drive on Windows
        return str(path)
    if not relative.startswith(".."):
        return relative
    root = find_project_root() or PROJECT_ROOT
    return relative if target.is_relative_to(root) else str(target)
