"""Support for the project's own tests: mistaken and alternative implementations are small variants
of the reference solution, and load it through `solution()`."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from kata_runner.registry import SOLUTIONS_DIR, find_kata


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


def module_constant(path: Path, name: str) -> object:
    """Read a constant such as EXPECT from a file without importing it (even one that does not parse)."""
    text = path.read_text()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        line = next((line for line in text.splitlines() if line.startswith(f"{name} = ")), None)
        if line is None:
            raise AssertionError(f"{path} defines no {name}") from None
        return ast.literal_eval(line.partition(" = ")[2])
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} defines no {name}")
