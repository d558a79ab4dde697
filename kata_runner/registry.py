"""The course and its kata registry.

A course is a folder with `course.toml` at its root: a `[course]` table (name, welcome and final
messages, where the author's variants live) and the `[[kata]]` registry, in course order. Every path
derives from the course root: katas/, checks/, solutions/, the learner's state in .kata/ and the
pristine stubs `kata reset` restores (.kata-stubs.json).

The course is found once per process, when this module is first imported: the folder named by
$KATA_COURSE, else the nearest folder at or above the current one that holds a course.toml (as git
finds .git). The `kata` command sets $KATA_COURSE from `--course DIR` before importing anything else
(see bootstrap.select_course); processes forked from this one (the grader's judges, the subjects)
inherit the course, wherever they run.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COURSE_FILE = "course.toml"
STUBS_FILE = ".kata-stubs.json"  # the pristine stubs, recorded by `kata verify --refresh-stubs`
DEFAULT_VARIANTS = "variants"

PACKAGE_DIR = Path(__file__).resolve().parent


def find_course_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a course.toml."""
    here = start.resolve()
    for folder in (here, *here.parents):
        try:
            if (folder / COURSE_FILE).is_file():
                return folder
        except OSError:  # a folder we may not look into
            continue
    return None


def _current_folder() -> Path:
    try:
        return Path.cwd().resolve()
    except OSError:  # the current folder was deleted
        return Path("/")


def locate_course() -> Path | None:
    """$KATA_COURSE (even if it holds no course.toml: require_course() then says so), else the walk up."""
    named = os.environ.get("KATA_COURSE")
    if named:
        return Path(named).expanduser().resolve()
    return find_course_root(_current_folder())


COURSE_ROOT: Path | None = locate_course()
# Outside any course these point below the current folder, where nothing exists; commands that need a
# course call require_course() first and say how to get one.
PROJECT_ROOT = COURSE_ROOT or _current_folder()
COURSE_TOML = PROJECT_ROOT / COURSE_FILE
KATAS_DIR = PROJECT_ROOT / "katas"
CHECKS_DIR = PROJECT_ROOT / "checks"
SOLUTIONS_DIR = PROJECT_ROOT / "solutions"
STUBS_PATH = PROJECT_ROOT / STUBS_FILE


class NoCourse(LookupError):
    """No course here: the message says how to get one."""


class CourseError(ValueError):
    """course.toml exists but cannot be read as a course: the message names the problem."""


def missing_course_message() -> str | None:
    """Why there is no usable course here, or None when there is one."""
    if COURSE_ROOT is None:
        anchor = _current_folder().anchor or "/"
        return f"no course.toml found from here up to {anchor}: run `kata new DIR` or cd into a course"
    if not COURSE_TOML.is_file():
        return (f"KATA_COURSE (or --course) names {COURSE_ROOT}, which holds no {COURSE_FILE}: "
                "name a course folder, or run `kata new DIR` to make one")
    return None


def require_course() -> Path:
    message = missing_course_message()
    if message:
        raise NoCourse(message)
    return PROJECT_ROOT


def state_dir() -> Path:
    """Where the harness keeps hints shown, cached results and backups ($KATA_STATE_DIR or COURSE/.kata/)."""
    return Path(os.environ.get("KATA_STATE_DIR") or PROJECT_ROOT / ".kata")


@dataclass(frozen=True)
class CourseInfo:
    name: str
    welcome: str
    final: str
    variants_dir: Path


@dataclass(frozen=True)
class Kata:
    id: str
    slug: str
    title: str
    objective: str
    hints: tuple[str, ...]
    order: int
    weight: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.id}_{self.slug}"

    @property
    def filename(self) -> str:
        return f"{self.name}.py"

    @property
    def check_path(self) -> Path:
        return CHECKS_DIR / f"test_{self.filename}"

    def impl_path(self, kata_dir: Path) -> Path:
        return kata_dir / self.filename

    @property
    def stub_path(self) -> Path:
        return KATAS_DIR / self.filename

    @property
    def solution_path(self) -> Path:
        return SOLUTIONS_DIR / self.filename

    @property
    def variants_path(self) -> Path:
        return course_info().variants_dir / self.name


@cache
def course_data() -> dict[str, Any]:
    require_course()
    try:
        return tomllib.loads(COURSE_TOML.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CourseError(f"{COURSE_TOML} cannot be read: {exc}. Fix the file (it is TOML).") from None


@cache
def course_info() -> CourseInfo:
    table = course_data().get("course", {})
    if not isinstance(table, dict):
        raise CourseError(f"{COURSE_TOML}: [course] must be a table.")
    return CourseInfo(
        name=str(table.get("name", PROJECT_ROOT.name)),
        welcome=str(table.get("welcome", "")),
        final=str(table.get("final", "Well done: you have finished the course.")),
        variants_dir=PROJECT_ROOT / str(table.get("variants", DEFAULT_VARIANTS)),
    )


REQUIRED = ("id", "slug", "title", "objective", "hints")


@cache
def all_katas() -> tuple[Kata, ...]:
    entries = course_data().get("kata", [])
    katas = []
    for order, entry in enumerate(entries, start=1):
        missing = [key for key in REQUIRED if key not in entry]
        if missing:
            raise CourseError(f"{COURSE_TOML}: [[kata]] number {order} has no {', '.join(missing)}.")
        katas.append(Kata(
            id=str(entry["id"]),
            slug=str(entry["slug"]),
            title=entry["title"],
            objective=entry["objective"],
            hints=tuple(entry["hints"]),
            order=order,
            weight=float(entry.get("weight", 1.0)),
        ))
    if not katas:
        raise CourseError(f"{COURSE_TOML} registers no kata: add a [[kata]] entry (or run `kata add SLUG`).")
    return tuple(katas)


class UnknownKata(LookupError):
    pass


def find_kata(key: str) -> Kata:
    """Look a kata up by id ("3" or "03"), slug ("module_inventory") or name ("03_module_inventory")."""
    wanted = key.strip().lower().removesuffix(".py").removeprefix("test_")
    for kata in all_katas():
        if wanted in (kata.id, kata.id.lstrip("0"), kata.slug, kata.name):
            return kata
    known = ", ".join(k.id for k in all_katas())
    raise UnknownKata(f"there is no kata '{key}'. Use an id ({known}) or a slug such as '{all_katas()[0].slug}'.")


def kata_for_check_file(path: Path) -> Kata | None:
    """The kata whose checks `path` is; None outside any course (the plugin is loaded into every pytest run of
    an environment the engine is installed in, and must leave other projects' tests alone)."""
    if missing_course_message():
        return None
    for kata in all_katas():
        if path.name == kata.check_path.name:
            return kata
    return None
