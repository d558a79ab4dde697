"""The kata registry: `katas.toml` is the single source of truth; every path derives from it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
KATAS_DIR = PROJECT_ROOT / "katas"
CHECKS_DIR = PROJECT_ROOT / "checks"
SOLUTIONS_DIR = PROJECT_ROOT / "solutions"


def state_dir() -> Path:
    """Where the harness keeps hints shown, cached results and backups ($KATA_STATE_DIR or .kata/)."""
    return Path(os.environ.get("KATA_STATE_DIR") or PROJECT_ROOT / ".kata")


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


@cache
def all_katas() -> tuple[Kata, ...]:
    data = tomllib.loads((PACKAGE_DIR / "katas.toml").read_text(encoding="utf-8"))
    return tuple(
        Kata(
            id=entry["id"],
            slug=entry["slug"],
            title=entry["title"],
            objective=entry["objective"],
            hints=tuple(entry["hints"]),
            order=order,
            weight=float(entry.get("weight", 1.0)),
        )
        for order, entry in enumerate(data["kata"], start=1)
    )


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
    for kata in all_katas():
        if path.name == kata.check_path.name:
            return kata
    return None
