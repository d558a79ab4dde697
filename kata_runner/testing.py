"""Support for the project's own tests: mistaken and alternative implementations are small variants
of the reference solution, and load it through `solution()`.

Graders hide `solutions/` from learner code (see sandbox.py), so a variant cannot import the reference
where it is graded: `stage()` copies a variant into a folder with the references it asks for embedded.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from kata_runner.registry import SOLUTIONS_DIR, Kata, find_kata
from kata_runner.results import KataResult

ASKS_FOR_SOLUTION = re.compile(r"""solution\(\s*["'](\w+)["']\s*\)""")
_REQUIRED = object()


def solution(kata_id: str) -> ModuleType:
    """The reference solution module of a kata, imported by path (once per process)."""
    kata = find_kata(kata_id)
    name = f"kata_solution_{kata.name}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, kata.impl_path(SOLUTIONS_DIR))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def module_constant(path: Path, name: str, default: object = _REQUIRED) -> object:
    """Read a constant such as EXPECT from a file without importing it (even one that does not parse);
    `default` where the file defines none, if given."""
    text = path.read_text()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        line = next((line for line in text.splitlines() if line.startswith(f"{name} = ")), None)
        if line is not None:
            return ast.literal_eval(line.partition(" = ")[2])
    else:
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
                return ast.literal_eval(node.value)
    if default is _REQUIRED:
        raise AssertionError(f"{path} defines no {name}")
    return default


def stage(source: Path, folder: Path, kata: Kata | None = None, solutions_dir: Path = SOLUTIONS_DIR) -> Path:
    """Copy the implementation at `source` into `folder` as the kata's file (the kata named by the
    folder or file name of `source`, unless given), with every reference module it loads through
    `solution("NN")` embedded, so that it runs where `solutions/` cannot be seen. Line numbers are kept
    when a blank line follows the docstring and `__future__` imports (the usual layout)."""
    text = source.read_text(encoding="utf-8")
    if kata is None:
        kata = find_kata((source.parent.name if source.parent.name[:2].isdigit() else source.name)[:2])
    target = folder / kata.filename
    target.write_text(with_references(text, solutions_dir), encoding="utf-8")
    return target


def stage_each(paths: Sequence[Path], root: Path, kata: Kata | None = None) -> list[tuple[Kata, Path]]:
    """Each file staged alone (see `stage`) into a folder of its own under `root`, as a class's submissions
    are: the (kata, folder) jobs that grade_many takes."""
    jobs = []
    for index, path in enumerate(paths):
        folder = root / f"{index}_{path.stem}"
        folder.mkdir()
        target = stage(path, folder, kata)
        jobs.append((kata or find_kata(target.name[:2]), folder))
    return jobs


def judged_differently(paths: Sequence[Path], first: Sequence[KataResult], second: Sequence[KataResult]) -> list[str]:
    """The names of the files whose two results differ in verdict, message or any spec's outcome and message.
    A file that sets HIDDEN_STATE (why its code carries state from one spec to the next) is compared without
    its specs' messages: which specs share its subject, or whether a failing spec's subject already ran
    replayed inputs, changes the numbers in them, never its verdicts."""

    def seen(result: KataResult, messages: bool) -> tuple[object, ...]:
        specs = [(s.nodeid, s.status, s.kind, s.message if messages else None) for s in result.specs]
        return result.verdict, result.message, specs

    differ = []
    for path, a, b in zip(paths, first, second, strict=True):
        messages = module_constant(path, "HIDDEN_STATE", None) is None
        if seen(a, messages) != seen(b, messages):
            differ.append(path.name)
    return differ


def with_references(text: str, solutions_dir: Path = SOLUTIONS_DIR) -> str:
    wanted = list(dict.fromkeys(ASKS_FOR_SOLUTION.findall(text)))
    if not wanted:
        return text
    parts = ["import sys as _kata_sys, types as _kata_types, linecache as _kata_linecache"]
    for kata_id in wanted:
        kata = find_kata(kata_id)
        name = f"kata_solution_{kata.name}"
        source = kata.impl_path(solutions_dir).read_text(encoding="utf-8")
        filename = f"reference/{kata.filename}"
        parts.append(f"_kata_sys.modules[{name!r}] = _kata_types.ModuleType({name!r})")
        # inspect.getsource(solution("NN")) works on the embedded reference too (a variant may edit its source).
        parts.append(f"_kata_sys.modules[{name!r}].__file__ = {filename!r}")
        parts.append(f"_kata_linecache.cache[{filename!r}] = ({len(source)}, None, {source.splitlines(True)!r}, "
                     f"{filename!r})")
        parts.append(f"exec(compile({source!r}, {filename!r}, 'exec'), _kata_sys.modules[{name!r}].__dict__)")
    prelude = "; ".join(parts) + "\n"
    lines = text.splitlines(keepends=True)
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return prelude + text
    start = 0
    for index, node in enumerate(body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring or future):
            break
        start = node.end_lineno or node.lineno
    for number in range(start, len(lines)):  # the first blank line after them takes the prelude
        if not lines[number].strip():
            lines[number] = prelude
            return "".join(lines)
    return "".join(lines[:start]) + prelude + "".join(lines[start:])
