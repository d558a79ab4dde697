"""The author check (`kata verify`): proves the course is consistent before anyone takes it.

Every registered kata has its three files and at least two hints; its stub teaches (docstring,
TODO, NotImplementedError) and matches the pristine copy `kata reset` restores; its checks import
nothing from katas/ or solutions/ and open with their contract clauses, every clause naming the specs
that enforce it and every spec named by a clause; every solution passes every spec on every available
device; every stub is graded "not started"; and the author's variants (variants/NN_slug/, or the
folder course.toml names) prove the checks: every correct_*.py passes, every mistake_*.py fails with
its EXPECT phrase in a failing spec's message.
"""

from __future__ import annotations

import ast
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kata_runner.course import PRISTINE_FILE
from kata_runner.registry import SOLUTIONS_DIR, Kata, all_katas
from kata_runner.results import KataResult, SpecStatus, Verdict

FORBIDDEN_ROOTS = ("katas", "solutions")


@dataclass
class KataVerification:
    kata: Kata
    problems: list[str] = field(default_factory=list)
    solution: KataResult | None = None
    stub: KataResult | None = None
    variants: list[tuple[Path, KataResult]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_imports(check_path: Path) -> list[str]:
    """Checks must load implementations through the `kata` fixture, never import them directly."""
    problems = []
    tree = ast.parse(check_path.read_text(encoding="utf-8"), filename=str(check_path))
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(f"{root}/" in node.value for root in FORBIDDEN_ROOTS)
        ):
            problems.append(f"{check_path.name}:{line} refers to the path {node.value!r}")
        for name in names:
            if name.split(".")[0] in FORBIDDEN_ROOTS:
                problems.append(f"{check_path.name}:{line} imports {name}; use the `kata` fixture instead")
    return problems


CLAUSE = re.compile(r"^(C\d+)\s", re.MULTILINE)


def check_contract(check_path: Path) -> list[str]:
    """The check module's docstring lists contract clauses (lines starting `C1 `, `C2 `, ...); each
    clause names at least one spec (by its name without `test_`), and every spec is named by one."""
    tree = ast.parse(check_path.read_text(encoding="utf-8"), filename=str(check_path))
    doc = ast.get_docstring(tree) or ""
    specs = {node.name.removeprefix("test_") for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    if not specs:
        return [f"{check_path.name} has no spec"]
    starts = [m.start() for m in CLAUSE.finditer(doc)]
    if not starts:
        return [f"{check_path.name} does not open with its contract clauses (lines starting C1, C2, ...)"]
    clauses = [doc[a:b] for a, b in zip(starts, starts[1:] + [len(doc)])]
    problems = []
    named: set[str] = set()
    for clause in clauses:
        found = {spec for spec in specs if re.search(rf"\b(?:test_)?{re.escape(spec)}\b", clause)}
        if not found:
            problems.append(f"{check_path.name}: clause {clause.split()[0]} names no spec")
        named |= found
    problems.extend(f"{check_path.name}: spec test_{spec} is not named by any contract clause"
                    for spec in sorted(specs - named))
    return problems


def check_files(kata: Kata, solutions_dir: Path, pristine: dict[str, str]) -> list[str]:
    problems = []
    for label, path in (
        ("stub", kata.stub_path),
        ("checks", kata.check_path),
        ("solution", kata.impl_path(solutions_dir)),
    ):
        if not path.is_file():
            problems.append(f"missing {label}: {path}")
    if len(kata.hints) < 2:
        problems.append(f"has {len(kata.hints)} hint(s); every kata needs at least two")
    if kata.stub_path.is_file():
        text = kata.stub_path.read_text(encoding="utf-8")
        if not ast.get_docstring(ast.parse(text)):
            problems.append("the stub has no module docstring explaining the task")
        if "# TODO" not in text:
            problems.append("the stub has no # TODO marker")
        if "NotImplementedError" not in text:
            problems.append("the stub never raises NotImplementedError")
        if pristine.get(kata.filename) != text:
            problems.append(
                f"the stub differs from its pristine copy in {PRISTINE_FILE.name}: "
                "run `kata verify --refresh-stubs` after editing a stub"
            )
    if kata.check_path.is_file():
        problems.extend(check_imports(kata.check_path))
        problems.extend(check_contract(kata.check_path))
    return problems


def variant_files(kata: Kata) -> list[Path]:
    """The kata's correct_*.py and mistake_*.py variants (none when its variants folder does not exist)."""
    folder = kata.variants_path
    return sorted(folder.glob("correct_*.py")) + sorted(folder.glob("mistake_*.py"))


def judge_variant(path: Path, result: KataResult) -> str | None:
    """A problem with a variant's result, or None when it is what the variant's name promises."""
    if path.name.startswith("correct_"):
        if result.verdict is Verdict.PASS:
            return None
        first = result.first_failure
        detail = f"{first.title}: {first.message.splitlines()[0]}" if first and first.message else result.message
        return f"correct variant {path.name} is graded {result.verdict.label}: {detail}"
    from kata_runner.testing import module_constant

    try:
        phrase = str(module_constant(path, "EXPECT"))
    except (AssertionError, ValueError, OSError):
        return f"mistake variant {path.name} defines no EXPECT = \"...\" (the phrase a failing spec must say)"
    failing = [s for s in result.specs if s.status in (SpecStatus.FAIL, SpecStatus.ERROR)]
    if result.verdict is not Verdict.FAIL:
        return f"mistake variant {path.name} is graded {result.verdict.label}, not fail: {result.message}"
    if not any(phrase.lower() in s.message.lower() for s in failing):
        said = "; ".join(s.message.splitlines()[0] for s in failing if s.message)[:300]
        return f"mistake variant {path.name} fails, but no failing spec mentions {phrase!r} (they say: {said})"
    return None


def verify(solutions_dir: Path = SOLUTIONS_DIR, devices: tuple[str, ...] = (), jobs: int = 1,
           variants: bool = True) -> list[KataVerification]:
    """Check every kata; grade its solution, its stub and (unless `variants` is False) its variants in one
    batch of `jobs` graders at a time."""
    from kata_runner.grader import GradeOptions, grade_many
    from kata_runner.registry import KATAS_DIR
    from kata_runner.testing import stage

    try:
        pristine = json.loads(PRISTINE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pristine = {}
    rows = [KataVerification(k, check_files(k, solutions_dir, pristine)) for k in all_katas()]
    gradable = [row for row in rows if row.kata.check_path.is_file()]
    jobs_list = [(row.kata, solutions_dir) for row in gradable] + [(row.kata, KATAS_DIR) for row in gradable]
    staged: list[tuple[KataVerification, Path]] = []
    with tempfile.TemporaryDirectory(prefix="kata-verify-") as scratch:
        if variants:
            for row in gradable:
                for path in variant_files(row.kata):
                    folder = Path(scratch) / f"{len(staged)}_{path.stem}"
                    folder.mkdir()
                    try:
                        stage(path, folder, row.kata, solutions_dir)
                    except (OSError, UnicodeDecodeError, LookupError) as exc:
                        row.problems.append(f"variant {path.name} cannot be staged: {exc}")
                        continue
                    staged.append((row, path))
                    jobs_list.append((row.kata, folder))
        results = grade_many(jobs_list, GradeOptions(devices=devices), max_parallel=jobs)
    count = len(gradable)
    for row, solution, stub in zip(gradable, results[:count], results[count : 2 * count]):
        row.solution, row.stub = solution, stub
        if solution.verdict is not Verdict.PASS:
            first = solution.first_failure
            detail = f"{first.title}: {first.message}" if first else solution.message
            row.problems.append(f"solution is {solution.verdict.label}: {detail}")
        if stub.verdict is not Verdict.NOT_STARTED:
            passing = [s.title for s in stub.specs if s.status.value == "pass"]
            detail = f"specs passing on the stub: {passing}" if passing else stub.message
            row.problems.append(f"stub is graded {stub.verdict.label}, not 'not started' ({detail})")
    for (row, path), result in zip(staged, results[2 * count :]):
        row.variants.append((path, result))
        problem = judge_variant(path, result)
        if problem:
            row.problems.append(problem)
    return rows
