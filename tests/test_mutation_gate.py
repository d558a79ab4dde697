"""The mutation gate (bench/mutation.py): its extra operators, what it leaves out, the equivalence
file, and one end-to-end run on a small sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cosmic_ray", reason="the mutation gate needs cosmic-ray (pip install cosmic-ray)")

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import mutation  # noqa: E402
import mutation_operators as ops  # noqa: E402
from cosmic_ray.mutating import mutate_code  # noqa: E402

from kata_runner.registry import find_kata  # noqa: E402


def mutants_of(operator: type, code: str) -> list[str]:
    """Every mutant `operator` makes of `code`, in occurrence order."""
    found = []
    while (mutated := mutate_code(code, operator(), len(found))) is not None:
        found.append(mutated)
    return found


@pytest.mark.parametrize(
    ("operator", "code", "expected"),
    [
        (ops.ReplaceStringLiteral, 'init(w, mode="fan_out")\n',
         ['init(w, mode="fan_outXX")\n', 'init(w, mode="")\n']),
        (ops.ReplaceStringLiteral, "x = ''\n", ["x = 'XX'\n"]),
        (ops.DropKeywordArgument, "x.var(dim=0, unbiased=False)\n", ["x.var(unbiased=False)\n", "x.var(dim=0)\n"]),
        (ops.DropKeywordArgument, "f(x, persistent=False)\n", ["f(x)\n"]),
        (ops.DropKeywordArgument, "f(\n    x,\n    k=1,\n)\n", ["f(\n    x,\n)\n"]),
        (ops.ReplaceKeywordValue, "t(0, dtype=torch.long, flag=True)\n", ["t(0, dtype=None, flag=True)\n"]),
        (ops.ReplaceStatementWithPass, "def f(self):\n    super().__init__()\n    self.n += 1\n    y = 2\n",
         ["def f(self):\n    pass\n    self.n += 1\n    y = 2\n",
          "def f(self):\n    super().__init__()\n    pass\n    y = 2\n"]),
        (ops.ReplaceStatementWithPass, "self.register_buffer('m', z)\nmodule.training = flag\n",
         ["pass\nmodule.training = flag\n", "self.register_buffer('m', z)\npass\n"]),
        (ops.RemoveMethodCall, "y = x.detach().clone().sum()\n", ["y = x.clone().sum()\n", "y = x.detach().sum()\n"]),
        (ops.RemoveMethodCall, "y = x.contiguous()\nz = x.sum()\n", ["y = x\nz = x.sum()\n"]),
        (ops.ReplaceWithNullContext, "with torch.no_grad():\n    step()\n",
         [f"with {ops.NULL_CONTEXT}():\n    step()\n"]),
        (ops.ReplaceWithNullContext, "with a() as b, c:\n    pass\n",
         [f"with {ops.NULL_CONTEXT}(a()) as b, c:\n    pass\n", f"with a() as b, {ops.NULL_CONTEXT}():\n    pass\n"]),
        (ops.ReturnNone, "def f(x):\n    return x @ w\n\ndef g():\n    return None\n",
         ["def f(x):\n    return None\n\ndef g():\n    return None\n"]),
        (ops.SwapPositionalArguments, "F.linear(x, w, bias=b)\nf(a)\ng(a, a)\nh(*a, b)\n",
         ["F.linear(w, x, bias=b)\nf(a)\ng(a, a)\nh(*a, b)\n"]),
    ],
)
def test_extra_operator_makes_the_expected_valid_mutants(operator: type, code: str, expected: list[str]) -> None:
    found = mutants_of(operator, code)
    assert found == expected
    for mutated in found:
        compile(mutated, "<mutant>", "exec")


@pytest.mark.parametrize("operator", list(ops.EXTRA_OPERATORS.values()))
def test_extra_operator_examples_hold(operator: type) -> None:
    for example in operator.examples():
        assert mutate_code(example.pre_mutation_code, operator(), example.occurrence) == example.post_mutation_code


SNIPPET = '''"""Module docstring with "quotes" and 1 + 2."""
from __future__ import annotations


class Layer:
    """Class docstring: 3 - 1."""

    scale: float | None = 2.0

    def forward(self, x: int | None = 1, *, mode: str = "fan_in") -> dict[str, int]:
        """Method docstring."""
        return {"out": x + 1}
'''


def test_docstring_and_annotation_mutants_are_not_generated() -> None:
    generation = mutation.generate(find_kata("01"), SNIPPET, mutation.all_operators())
    changed = [(m.before, m.after) for m in generation.mutants]
    assert generation.skipped > 0
    assert not any("docstring" in before for before, _ in changed)
    for before, after in changed:  # annotations are identical before and after
        for annotation in ("float | None", "int | None", "str = ", "dict[str, int]"):
            assert before.count(annotation) == after.count(annotation), (before, after)
    # ...while the default values, the body and the string literal in it are mutated
    assert ("scale: float | None = 2.0", "scale: float | None = 3.0") in changed
    assert any('"fan_inXX"' in after for _, after in changed)
    assert ('return {"out": x + 1}', 'return {"outXX": x + 1}') in changed
    assert all(mutation.compiles(m.source) for m in generation.mutants)


def test_mutant_identity_ignores_line_numbers_indentation_and_comments() -> None:
    kata = find_kata("01")
    operators = {"kata/ReturnNone": ops.ReturnNone()}
    first = mutation.generate(kata, "def f():\n    return 1\n", operators).mutants
    moved_source = "import os\n\n\nclass A:\n    def f():\n        return 1  # one\n"
    moved = mutation.generate(kata, moved_source, operators).mutants
    assert first[0].line != moved[0].line
    assert first[0].id == moved[0].id
    assert (first[0].before, first[0].after) == ("return 1", "return None")


def test_equivalence_file_parses_and_every_entry_has_a_reason() -> None:
    for entry in mutation.load_equivalents():
        assert entry.reason.strip()
        assert entry.id or (entry.operator and entry.before is not None and entry.after is not None)


def test_equivalence_entries_match_and_bad_entries_are_refused(tmp_path: Path) -> None:
    mutant = mutation.Mutant("01", "kata/ReturnNone", 0, 3, "return x", "return None", "")
    by_text = mutation.Equivalent("01", "reason", "kata/ReturnNone", "return  x", "return None")
    by_id = mutation.Equivalent("01", "reason", id=mutant.id)
    assert by_text.matches(mutant) and by_id.matches(mutant)
    assert not mutation.Equivalent("02", "reason", id=mutant.id).matches(mutant)
    bad = tmp_path / "equivalent.toml"
    bad.write_text('[[equivalent]]\nkata = "01"\nid = "abc"\n', encoding="utf-8")
    with pytest.raises(mutation.EquivalenceFileError, match="reason"):
        mutation.load_equivalents(bad)


def test_sample_is_deterministic() -> None:
    items = [mutation.Mutant("01", "op", i, i, "a", "b", "") for i in range(50)]
    assert mutation.sample(items, 5) == mutation.sample(items, 5)
    assert [m.occurrence for m in mutation.sample(items, 5)] == sorted(m.occurrence for m in mutation.sample(items, 5))
    assert mutation.sample(items, 100) == items


@pytest.mark.timeout(300)  # about 10 s on an idle 2-core machine; grading slows down a lot under load
def test_end_to_end_sample_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "mutation.json"
    command = [sys.executable, str(BENCH / "mutation.py"), "--sample", "3", "--kata", "01", "--json", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=280, check=False)
    assert run.returncode in (0, 1), run.stderr
    assert "01_custom_linear" in run.stdout and "score" in run.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    (kata,) = document["katas"]
    assert kata["kata"] == "01"
    if not kata["broken"]:
        assert kata["made"] == 3
        assert kata["killed"] + kata["survived"] + kata["equivalent"] == 3
    assert (run.returncode == 0) == (kata["score"] == 100.0)
