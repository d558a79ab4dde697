"""exercism's test-runner interface (`bin/run.sh SLUG INPUT_DIR OUTPUT_DIR`): grade the solution in INPUT_DIR
and write OUTPUT_DIR/results.json (version 3), whatever the result.

The input folder is only read: the solution is graded from a copy in a temporary folder, under the kata's file
name. Limits fit exercism's runner (20 s and 3 GB per solution).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from kata_runner.isolation import Limits
from kata_runner.registry import Kata, UnknownKata, find_kata
from kata_runner.storage import atomic_write_text

WALL_SECONDS = 15.0
SPEC_SECONDS = 10.0
MEMORY_BYTES = 2 * 2**30
USAGE = "usage: bin/run.sh SLUG INPUT_DIR OUTPUT_DIR  (SLUG: a kata slug such as custom-linear, or its id)"


def error_document(message: str) -> dict[str, Any]:
    return {"version": 3, "status": "error", "message": message, "tests": []}


def solution_file(kata: Kata, input_dir: Path) -> Path | None:
    """The kata's file (01_custom_linear.py), or one named after the slug, as exercism names solutions."""
    for name in (kata.filename, f"{kata.slug}.py", f"{kata.slug.replace('_', '-')}.py"):
        if (input_dir / name).is_file():
            return input_dir / name
    return None


def _renamed(doc: Any, old: str, new: str) -> Any:
    """The messages of `doc`, naming the learner's file rather than the copy that was graded."""
    if isinstance(doc, dict):
        return {k: _renamed(v, old, new) if k in ("message", "summary", "tests") else v for k, v in doc.items()}
    if isinstance(doc, list):
        return [_renamed(v, old, new) for v in doc]
    return doc.replace(old, new) if isinstance(doc, str) else doc


def grade_solution(slug: str, input_dir: Path) -> dict[str, Any]:
    """The results.json document for SLUG's solution in `input_dir`."""
    from kata_runner.grader import GradeOptions, grade

    try:
        kata = find_kata(slug.strip().strip("/").replace("-", "_"))
    except UnknownKata as exc:
        return error_document(f"Unknown exercise '{slug}': {exc}")
    solution = solution_file(kata, input_dir)
    if solution is None:
        return error_document(f"No solution file: put your code in {kata.filename} (or {kata.slug}.py).")
    options = GradeOptions(devices=("cpu",), spec_timeout=SPEC_SECONDS, limits=Limits(WALL_SECONDS, MEMORY_BYTES))
    with tempfile.TemporaryDirectory(prefix="kata-exercism-") as tmp:
        folder = Path(tmp)
        shutil.copyfile(solution, folder / kata.filename)
        # Readable by the sandbox's unprivileged user, which loads the learner's file (tmp starts as 0700).
        folder.chmod(0o755)
        (folder / kata.filename).chmod(0o644)
        doc = grade(kata, folder, options).to_exercism()
    return _renamed(doc, kata.filename, solution.name) if solution.name != kata.filename else doc


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    slug, input_dir, output_dir = args[0], Path(args[1]), Path(args[2])
    try:
        doc = grade_solution(slug, input_dir)
    except Exception as exc:  # the interface wants a results.json whatever happened
        doc = error_document(f"The test runner failed: {type(exc).__name__}: {exc}")
    atomic_write_text(output_dir / "results.json", json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
