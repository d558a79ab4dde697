"""`kata export gradescope`: the autograder zip Gradescope expects.

Gradescope unzips it into /autograder/source, runs setup.sh once to build the image, and runs
run_autograder for each submission, which must write /autograder/results/results.json.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from kata_runner.registry import CHECKS_DIR, COURSE_TOML, PACKAGE_DIR, PROJECT_ROOT, STUBS_PATH

SCRIPTS = ("setup.sh", "run_autograder")


def autograder_files() -> list[Path]:
    """The files the autograder needs: the engine and what installs it, the course (course.toml, the pristine
    stubs) and its checks. run_autograder grades from that folder, where the engine finds course.toml."""
    files = [PROJECT_ROOT / name for name in ("pyproject.toml", "README.md", "conftest.py")]
    files += sorted(PACKAGE_DIR.glob("*.py")) + [PACKAGE_DIR / "pytest_settings.ini"]
    files += [COURSE_TOML, STUBS_PATH] + sorted(CHECKS_DIR.glob("*.py"))
    return [path for path in files if path.is_file()]


def build_autograder_zip(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in SCRIPTS:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable, as Gradescope runs them directly
            archive.writestr(info, (PACKAGE_DIR / "gradescope" / name).read_bytes())
        for path in autograder_files():
            archive.write(path, path.relative_to(PROJECT_ROOT).as_posix())
    return out
