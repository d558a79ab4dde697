"""Author tools: `kata new DIR` scaffolds a working course; `kata add SLUG` adds a kata skeleton to one.

Both work from the templates in kata_runner/templates/ and never overwrite a file: `new` only writes into
a new or empty folder, `add` refuses a slug or a file that already exists.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from kata_runner.registry import COURSE_FILE, DEFAULT_VARIANTS, PACKAGE_DIR, STUBS_FILE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TEMPLATES = PACKAGE_DIR / "templates"
SLUG = re.compile(r"[a-z][a-z0-9_]*")
EXAMPLE = {"id": "01", "slug": "scale", "class": "Scale", "title": "A learned per-feature scale"}
# Template file -> where it goes in a new course (dotfiles are stored without their dot: package data skips them).
COURSE_FILES = {
    "course.toml": COURSE_FILE,
    "README.md": "README.md",
    "gitignore": ".gitignore",
    "pytest.ini": "pytest.ini",
    "ci_run": ".ci/run",
}


class ScaffoldError(ValueError):
    """What the author asked for cannot be made: the message says why and what to do."""


@dataclass(frozen=True)
class NewCourse:
    root: Path
    name: str
    files: tuple[Path, ...]


@dataclass(frozen=True)
class AddedKata:
    id: str
    slug: str
    files: tuple[Path, ...]


def fill(text: str, **values: str) -> str:
    """Replace the templates' __PLACEHOLDERS__ (plain text: Python and shell keep their own $ and {})."""
    for key, value in values.items():
        text = text.replace(f"__{key.upper()}__", value)
    return text


def class_name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("_") if part)


def kata_paths(root: Path, kata_id: str, slug: str, variants: str = DEFAULT_VARIANTS) -> dict[str, Path]:
    name = f"{kata_id}_{slug}"
    return {
        "stub": root / "katas" / f"{name}.py",
        "checks": root / "checks" / f"test_{name}.py",
        "solution": root / "solutions" / f"{name}.py",
        "variants": root / variants / name,
    }


def _write(path: Path, text: str, written: list[Path], executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as out:  # "x": never overwrite
        out.write(text)
    if executable:
        path.chmod(0o755)
    written.append(path)


def _write_kata(root: Path, template: str, paths: dict[str, Path], values: dict[str, str],
                written: list[Path]) -> str:
    """Stub, checks, solution and variants from templates/<template>/; returns the stub's text."""
    folder = TEMPLATES / template
    stub = fill((folder / "stub.py").read_text(encoding="utf-8"), **values)
    _write(paths["stub"], stub, written)
    _write(paths["checks"], fill((folder / "checks.py").read_text(encoding="utf-8"), **values), written)
    _write(paths["solution"], fill((folder / "solution.py").read_text(encoding="utf-8"), **values), written)
    for variant in sorted(folder.glob("correct_*.py")) + sorted(folder.glob("mistake_*.py")):
        _write(paths["variants"] / variant.name, fill(variant.read_text(encoding="utf-8"), **values), written)
    return stub


def new_course(target: Path) -> NewCourse:
    """A working course in `target` (new or empty): course.toml with one example kata and its stub, checks,
    solution, hints and variants; the pristine stubs; a README, a .gitignore, pytest.ini and .ci/run."""
    target = Path(target).expanduser()
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} is a file: name a new or empty folder for the course.")
    if target.is_dir() and any(target.iterdir()):
        raise ScaffoldError(f"{target} is not empty: `kata new` writes only into a new or empty folder, so that "
                            "nothing is overwritten. Name another folder.")
    root = target.resolve()
    name = root.name or "course"
    written: list[Path] = []
    for source, destination in COURSE_FILES.items():
        text = fill((TEMPLATES / "course" / source).read_text(encoding="utf-8"), course_name=name)
        _write(root / destination, text, written, executable=source == "ci_run")
    values = {"kata_id": EXAMPLE["id"], "kata_slug": EXAMPLE["slug"], "kata_class": EXAMPLE["class"],
              "kata_name": f"{EXAMPLE['id']}_{EXAMPLE['slug']}", "kata_title": EXAMPLE["title"]}
    paths = kata_paths(root, EXAMPLE["id"], EXAMPLE["slug"])
    stub = _write_kata(root, "example", paths, values, written)
    _write(root / STUBS_FILE, _stubs_json({paths["stub"].name: stub}), written)
    return NewCourse(root, name, tuple(written))


def _stubs_json(stubs: dict[str, str]) -> str:
    return json.dumps(stubs, indent=1, sort_keys=True) + "\n"


def _read_course(root: Path) -> dict:  # type: ignore[type-arg]
    path = root / COURSE_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScaffoldError(f"{path} cannot be read ({exc}); fix it before adding a kata.") from None


def next_id(ids: list[str]) -> str:
    numbers = [int(i) for i in ids if i.isdigit()]
    width = max([len(i) for i in ids] + [2])
    return str(max(numbers, default=0) + 1).zfill(width)


def add_kata(root: Path, slug: str, title: str | None = None) -> AddedKata:
    """Append a [[kata]] entry (the next id) to root/course.toml and write the kata's skeleton files, each
    with its TODOs: the stub (graded "not started"), collectable checks, a solution and two variants."""
    if not SLUG.fullmatch(slug):
        raise ScaffoldError(f"'{slug}' is not a slug: use lower-case letters, digits and underscores, starting "
                            "with a letter (e.g. `kata add layer_norm`).")
    data = _read_course(root)
    entries = data.get("kata", [])
    if any(entry.get("slug") == slug for entry in entries):
        raise ScaffoldError(f"the course already has a kata '{slug}': choose another slug.")
    kata_id = next_id([str(entry.get("id", "")) for entry in entries])
    variants = str(data.get("course", {}).get("variants", DEFAULT_VARIANTS))
    paths = kata_paths(root, kata_id, slug, variants)
    existing = [str(path) for path in paths.values() if path.exists()]
    if existing:
        raise ScaffoldError(f"{', '.join(existing)} already exist(s): move them away, or choose another slug.")
    title = title or slug.replace("_", " ").capitalize()
    values = {"kata_id": kata_id, "kata_slug": slug, "kata_class": class_name(slug), "kata_name": f"{kata_id}_{slug}",
              "kata_title": title}
    written: list[Path] = []
    stub = _write_kata(root, "skeleton", paths, values, written)
    entry = "\n".join([
        "", "[[kata]]",
        f"id = {json.dumps(kata_id)}",
        f"slug = {json.dumps(slug)}",
        f"title = {json.dumps(title)}",
        'objective = "TODO: what the learner builds, in one sentence."',
        "hints = [",
        '    "TODO: a first hint: the concept.",',
        '    "TODO: a second hint: closer to the code.",',
        "]",
        "weight = 1",
        "",
    ])
    course_toml = root / COURSE_FILE
    text = course_toml.read_text(encoding="utf-8")
    course_toml.write_text(text + ("" if text.endswith("\n") else "\n") + entry, encoding="utf-8")
    stubs_path = root / STUBS_FILE
    try:
        stubs = json.loads(stubs_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stubs = {}
    stubs[paths["stub"].name] = stub
    stubs_path.write_text(_stubs_json(stubs), encoding="utf-8")
    return AddedKata(kata_id, slug, (course_toml, *written))
