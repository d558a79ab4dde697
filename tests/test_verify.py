"""`kata new`, `kata add`, course discovery and `kata verify`'s judgement of variants.

The fast tests work on the pure core (scaffold.py, verify.judge_variant, registry's messages); one slow
test runs `kata verify` in a scaffolded course whose mistake variant no longer says its EXPECT phrase.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from click.testing import CliRunner

from kata_runner import registry
from kata_runner.bootstrap import select_course
from kata_runner.cli import cli
from kata_runner.results import KataResult, SpecResult, SpecStatus, Verdict
from kata_runner.scaffold import ScaffoldError, add_kata, class_name, new_course, next_id
from kata_runner.verify import check_contract, check_imports, judge_variant

KATA_SCRIPT = Path(sys.executable).parent / "kata"


def result(verdict: Verdict, *messages: str) -> KataResult:
    specs = [SpecResult(f"t::s{i}", f"s{i}", "", "cpu", SpecStatus.FAIL, message=m) for i, m in enumerate(messages)]
    return KataResult("01", "01_scale", "/x", verdict, message="summary", specs=specs)


def variant(tmp_path: Path, name: str, expect: str | None = None) -> Path:
    path = tmp_path / name
    path.write_text("" if expect is None else f"EXPECT = {expect!r}\n")
    return path


def test_a_correct_variant_must_pass(tmp_path: Path) -> None:
    path = variant(tmp_path, "correct_mul.py")
    assert judge_variant(path, result(Verdict.PASS)) is None
    problem = judge_variant(path, result(Verdict.FAIL, "forward differs\nmore"))
    assert problem == "correct variant correct_mul.py is graded failing: s0 [cpu]: forward differs"


def test_a_mistake_variant_must_fail_saying_its_expect_phrase(tmp_path: Path) -> None:
    path = variant(tmp_path, "mistake_zero.py", "Identity")
    assert judge_variant(path, result(Verdict.FAIL, "other", "a fresh scale is the identity")) is None
    missed = judge_variant(path, result(Verdict.FAIL, "forward differs"))
    assert missed is not None and "no failing spec mentions 'Identity'" in missed and "forward differs" in missed
    passed = judge_variant(path, result(Verdict.PASS))
    assert passed is not None and "graded passed, not fail" in passed
    crashed = judge_variant(path, result(Verdict.ERROR, "identity"))
    assert crashed is not None and "graded error, not fail" in crashed
    no_expect = judge_variant(variant(tmp_path, "mistake_silent.py"), result(Verdict.FAIL, "identity"))
    assert no_expect is not None and "defines no EXPECT" in no_expect


def test_new_course_writes_a_working_course_and_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    made = new_course(tmp_path / "course")
    root = made.root
    relative = sorted(str(p.relative_to(root)) for p in made.files)
    assert relative == sorted([
        ".ci/run", ".gitignore", ".kata-stubs.json", "README.md", "checks/test_01_scale.py", "course.toml",
        "katas/01_scale.py", "pytest.ini", "solutions/01_scale.py", "variants/01_scale/correct_mul.py",
        "variants/01_scale/mistake_adds_the_weight.py", "variants/01_scale/mistake_zero_init.py"])
    course = tomllib.loads((root / "course.toml").read_text())
    assert course["course"]["name"] == "course" and [k["slug"] for k in course["kata"]] == ["scale"]
    assert len(course["kata"][0]["hints"]) == 2
    assert os.access(root / ".ci" / "run", os.X_OK) and "kata verify" in (root / ".ci" / "run").read_text()
    assert ".kata/" in (root / ".gitignore").read_text()
    stub = (root / "katas" / "01_scale.py").read_text()
    assert "# TODO" in stub and "raise NotImplementedError" in stub
    assert json.loads((root / ".kata-stubs.json").read_text()) == {"01_scale.py": stub}
    checks = root / "checks" / "test_01_scale.py"
    assert check_contract(checks) == [] and check_imports(checks) == []
    with pytest.raises(ScaffoldError, match="is not empty"):
        new_course(root)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ScaffoldError, match="is a file"):
        new_course(tmp_path / "file")
    (tmp_path / "blank").mkdir()
    assert new_course(tmp_path / "blank").root == (tmp_path / "blank").resolve()


def test_add_kata_registers_the_next_id_and_writes_its_skeleton(tmp_path: Path) -> None:
    root = new_course(tmp_path / "c").root
    added = add_kata(root, "layer_norm")
    assert (added.id, added.slug) == ("02", "layer_norm")
    course = tomllib.loads((root / "course.toml").read_text())
    entry = course["kata"][-1]
    assert (entry["id"], entry["slug"], entry["title"], len(entry["hints"])) == ("02", "layer_norm", "Layer norm", 2)
    checks = root / "checks" / "test_02_layer_norm.py"
    stub = (root / "katas" / "02_layer_norm.py").read_text()
    assert "class LayerNorm(nn.Module)" in stub and "# TODO" in stub and "NotImplementedError" in stub
    assert check_contract(checks) == [] and check_imports(checks) == []
    assert (root / "variants" / "02_layer_norm" / "mistake_todo.py").read_text().count("EXPECT = ") == 1
    assert json.loads((root / ".kata-stubs.json").read_text())["02_layer_norm.py"] == stub
    with pytest.raises(ScaffoldError, match="already has a kata 'layer_norm'"):
        add_kata(root, "layer_norm")
    with pytest.raises(ScaffoldError, match="is not a slug"):
        add_kata(root, "Layer-Norm")
    assert add_kata(root, "third", title="A 'quoted' \"title\"").id == "03"
    assert tomllib.loads((root / "course.toml").read_text())["kata"][-1]["title"] == "A 'quoted' \"title\""


def test_ids_and_class_names() -> None:
    assert next_id([]) == "01" and next_id(["01", "09"]) == "10" and next_id(["001"]) == "002"
    assert class_name("layer_norm") == "LayerNorm" and class_name("scale") == "Scale"


def test_course_option_is_read_before_the_command() -> None:
    before = os.environ.get("KATA_COURSE")
    try:
        os.environ.pop("KATA_COURSE", None)
        select_course(["check", "--course", "/nowhere"])
        assert "KATA_COURSE" not in os.environ, "after the command, --course is the command's own"
        select_course(["--course", "some/where", "list"])
        assert os.environ["KATA_COURSE"] == os.path.abspath("some/where")
        select_course(["--course=/a/b", "list"])
        assert os.environ["KATA_COURSE"] == "/a/b"
    finally:
        os.environ.pop("KATA_COURSE", None)
        if before is not None:
            os.environ["KATA_COURSE"] = before


def test_outside_any_course_commands_say_how_to_get_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(registry, "COURSE_ROOT", None)
    for args in (["list"], ["check", "01"], ["verify"], ["add", "x"], []):
        done = CliRunner().invoke(cli, args)
        assert done.exit_code == 1, args
        assert "no course.toml found from here up to /: run `kata new DIR` or cd into a course" in done.output
    done = CliRunner().invoke(cli, ["new", str(tmp_path / "fresh")])
    assert done.exit_code == 0 and (tmp_path / "fresh" / "course.toml").is_file(), done.output


def test_a_course_option_naming_a_folder_without_course_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(registry, "COURSE_ROOT", tmp_path)
    monkeypatch.setattr(registry, "COURSE_TOML", tmp_path / "course.toml")
    done = CliRunner().invoke(cli, ["list"])
    assert done.exit_code == 1 and f"names {tmp_path}, which holds no course.toml" in done.output


@pytest.mark.slow
@pytest.mark.skipif(not KATA_SCRIPT.exists(), reason="the kata command is not installed next to this Python")
def test_verify_grades_the_variants_of_a_new_course(tmp_path: Path) -> None:
    root = new_course(tmp_path / "c").root
    env = {**os.environ, "KATA_STATE_DIR": str(tmp_path / "state")}
    env.pop("KATA_COURSE", None)
    ok = subprocess.run([str(KATA_SCRIPT), "verify"], cwd=root / "katas", env=env, capture_output=True, text=True,
                        timeout=300)
    assert ok.returncode == 0 and "All 1 katas verified" in ok.stdout, ok.stdout
    assert "and 3 variants" in " ".join(ok.stdout.split())
    private = tmp_path / "private"  # solutions kept outside the course: the variants load their reference from it
    (root / "solutions").rename(private)
    elsewhere = subprocess.run([str(KATA_SCRIPT), "verify", "--kata-dir", str(private)], cwd=root, env=env,
                               capture_output=True, text=True, timeout=300)
    assert elsewhere.returncode == 0 and "and 3 variants" in " ".join(elsewhere.stdout.split()), elsewhere.stdout
    private.rename(root / "solutions")
    mistake = root / "variants" / "01_scale" / "mistake_zero_init.py"
    mistake.write_text(mistake.read_text().replace('EXPECT = "identity"', 'EXPECT = "symmetry"'))
    (root / "variants" / "01_scale" / "correct_wrong.py").write_text(
        '"""Not correct at all: forward returns x."""\n\nfrom kata_runner.testing import solution\n\n'
        "_ref = solution('01')\n\n"
        "class Scale(_ref.Scale):\n    def forward(self, x):\n        return x\n")
    bad = subprocess.run([str(KATA_SCRIPT), "verify"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout
    out = " ".join(bad.stdout.split())
    assert "mistake variant mistake_zero_init.py fails, but no failing spec mentions 'symmetry'" in out
    assert "correct variant correct_wrong.py is graded failing" in out
    quick = subprocess.run([str(KATA_SCRIPT), "verify", "--no-variants"], cwd=root, env=env, capture_output=True,
                           text=True, timeout=300)
    assert quick.returncode == 0, quick.stdout
