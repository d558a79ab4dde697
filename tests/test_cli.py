"""The `kata` CLI, driven through click's CliRunner the way a learner or a tool would use it."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import all_katas, find_kata

ONLY_CPU = ["--device", "cpu"]


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def keep_only(folder: Path, *ids: str) -> Path:
    for path in folder.iterdir():
        if path.name[:2] not in ids:
            path.unlink()
    return folder


def test_check_reports_pass_on_the_solution_as_exercism_json() -> None:
    result = run("check", "01", "--solutions", "--json", *ONLY_CPU)
    doc = json.loads(result.stdout)
    assert result.exit_code == 0
    assert doc["version"] == 3 and doc["status"] == "pass" and doc["verdict"] == "pass"
    assert doc["tests"], "a pass needs specs that ran"
    for test in doc["tests"]:
        assert set(test) >= {"name", "status", "message", "output", "test_code", "task_id"}
        assert test["status"] == "pass" and test["task_id"] == 1


def test_check_on_the_untouched_stub_is_not_started_and_exits_1(stub_dir: Path) -> None:
    result = run("check", "01", "--kata-dir", str(stub_dir), "--json", *ONLY_CPU)
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert doc["status"] == "fail" and doc["verdict"] == "not_started"
    assert all(t["status"] == "fail" for t in doc["tests"])
    assert "Not implemented yet" in doc["tests"][0]["message"]


def test_check_prints_each_spec_the_first_failure_and_a_count(stub_dir: Path) -> None:
    shutil.copy(Path(__file__).parent / "variants/01_custom_linear/mistake_bias_never_added.py",
                stub_dir / "01_custom_linear.py")
    result = run("check", "custom_linear", "--kata-dir", str(stub_dir), *ONLY_CPU)
    assert result.exit_code == 1
    assert "PASS  weight (out_features, in_features) and bias (out_features,) are the layer's whole" in result.stdout
    assert "FAIL  forward(x) equals x @ weight.T + bias" in result.stdout
    assert "First failure: An optimizer's step" in result.stdout
    assert "specs pass" in result.stdout and "Kata 01 failing" in result.stdout
    assert "site-packages" not in result.stdout, "no harness-internal traceback frames"


def test_check_without_an_argument_grades_every_kata(solution_dir: Path) -> None:
    keep_only(solution_dir, "01", "02")
    result = run("check", "--kata-dir", str(solution_dir), "--json", *ONLY_CPU)
    doc = json.loads(result.stdout)
    assert [k["kata"] for k in doc["katas"]][:2] == ["01_custom_linear", "02_learned_norm"]
    assert doc["status"] == "fail", "katas 03-12 are missing, so not started"
    assert {k["verdict"] for k in doc["katas"][2:]} == {"not_started"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "99"], "There is no kata '99'"),
        (["check", "01", "--kata-dir", "/no/such/folder"], "does not exist"),
        (["check", "01", "--solutions", "--kata-dir", "katas"], "either --kata-dir or --solutions"),
        (["hint", "nope"], "There is no kata 'nope'"),
        (["reset", "01", "--solutions"], "No such option"),
    ],
)
def test_bad_input_gets_a_sentence_that_says_how_to_fix_it(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 or result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_list_shows_every_kata_in_order_with_its_state_and_progress(stub_dir: Path) -> None:
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    result = run("list", "--kata-dir", str(stub_dir), *ONLY_CPU)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    positions = [next(i for i, line in enumerate(lines) if k.name in line) for k in all_katas()]
    assert positions == sorted(positions)
    assert "passed" in lines[positions[0]]
    assert "not started" in lines[positions[1]] and lines[positions[1]].startswith(">")
    assert "1/12 katas passed" in result.stdout


def test_list_answers_from_the_cache_when_nothing_changed(stub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("list", "--kata-dir", str(stub_dir), *ONLY_CPU)
    import kata_runner.grader as grader

    def no_grading(*args, **kwargs):
        raise AssertionError("nothing changed, so nothing should be graded")

    monkeypatch.setattr(grader, "grade_many", no_grading)
    assert run("list", "--kata-dir", str(stub_dir), *ONLY_CPU).exit_code == 0


def test_the_cache_notices_an_edited_implementation(stub_dir: Path) -> None:
    run("list", "--kata-dir", str(stub_dir), *ONLY_CPU)
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    assert "1/12 katas passed" in run("list", "--kata-dir", str(stub_dir), *ONLY_CPU).stdout


def test_next_names_the_first_kata_its_file_and_objective(stub_dir: Path) -> None:
    result = run("next", "--kata-dir", str(stub_dir), *ONLY_CPU)
    assert result.exit_code == 0
    assert "Kata 01: A linear layer from scratch" in result.stdout
    assert "01_custom_linear.py" in result.stdout
    assert find_kata("01").objective in result.stdout
    assert "not started" in result.stdout


def test_next_moves_on_once_a_kata_passes(stub_dir: Path) -> None:
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    assert "Kata 02: A learned normalisation" in run("next", "--kata-dir", str(stub_dir), *ONLY_CPU).stdout


def test_next_says_so_when_every_kata_passes() -> None:
    result = run("next", "--solutions", *ONLY_CPU)
    assert f"All {len(all_katas())} katas pass" in result.stdout


def test_hint_reveals_one_more_hint_each_time() -> None:
    kata = find_kata("01")
    first = run("hint", "01").stdout
    assert f"Hint 1/{len(kata.hints)}: {kata.hints[0]}" in first and kata.hints[1] not in first
    second = run("hint", "01").stdout
    assert kata.hints[0] in second and f"Hint 2/{len(kata.hints)}: {kata.hints[1]}" in second
    for _ in range(len(kata.hints)):
        last = run("hint", "01").stdout
    assert "That is the last hint" in last and kata.hints[-1] in last


def test_reset_restores_the_stub_and_backs_up_the_learners_version(stub_dir: Path, private_state: Path) -> None:
    target = stub_dir / "01_custom_linear.py"
    target.write_text("# my work in progress\n")
    result = run("reset", "01", "--kata-dir", str(stub_dir), "--yes")
    assert result.exit_code == 0
    assert target.read_text() == find_kata("01").stub_path.read_text()
    [saved] = (private_state / "backups").iterdir()
    assert saved.read_text() == "# my work in progress\n"
    assert "Saved your version to" in result.stdout


def test_reset_asks_first_and_keeps_the_file_when_declined(stub_dir: Path) -> None:
    target = stub_dir / "01_custom_linear.py"
    target.write_text("# keep me\n")
    result = CliRunner().invoke(cli, ["reset", "01", "--kata-dir", str(stub_dir)], input="n\n")
    assert result.exit_code == 1 and "Nothing was reset" in result.output
    assert target.read_text() == "# keep me\n"
    result = CliRunner().invoke(cli, ["reset", "01", "--kata-dir", str(stub_dir)], input="y\n")
    assert result.exit_code == 0 and target.read_text() == find_kata("01").stub_path.read_text()


def test_reset_of_a_pristine_or_deleted_stub(stub_dir: Path) -> None:
    assert "already the original stub" in run("reset", "01", "--kata-dir", str(stub_dir), "--yes").stdout
    (stub_dir / "01_custom_linear.py").unlink()
    assert run("reset", "01", "--kata-dir", str(stub_dir), "--yes").exit_code == 0
    assert (stub_dir / "01_custom_linear.py").read_text() == find_kata("01").stub_path.read_text()


def test_reset_never_touches_the_solutions() -> None:
    result = CliRunner().invoke(cli, ["reset", "01", "--kata-dir", "solutions", "--yes"])
    assert result.exit_code == 1 and "never overwrites the reference solutions" in result.output


def test_watch_regrades_on_save_and_moves_to_the_next_kata(stub_dir: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from kata_runner.cli import make_course
    from kata_runner.watch import watch

    output = StringIO()
    stop = threading.Event()
    course = make_course(kata_dir=stub_dir, devices=("cpu",))
    worker = threading.Thread(target=watch, args=(course, Console(file=output, no_color=True), stop))
    worker.start()
    try:
        wait_for(output, "watching")
        time.sleep(0.3)
        shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
        wait_for(output, "Kata 02: A learned normalisation")
        assert "Kata 01 passed!" in output.getvalue()
    finally:
        stop.set()
        worker.join(timeout=10)
    assert "Stopped watching." in output.getvalue()


def wait_for(output, text: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in output.getvalue():
        assert time.monotonic() < deadline, f"never saw {text!r}; output so far:\n{output.getvalue()}"
        time.sleep(0.05)


def test_verify_passes_on_the_course() -> None:
    result = run("verify", *ONLY_CPU)
    assert result.exit_code == 0, result.stdout
    assert f"All {len(all_katas())} katas verified" in result.stdout


def test_verify_reports_a_broken_solution_set(solution_dir: Path) -> None:
    (solution_dir / "02_learned_norm.py").write_text("raise NotImplementedError\n")
    (solution_dir / "03_module_inventory.py").unlink()
    result = CliRunner().invoke(cli, ["verify", "--kata-dir", str(solution_dir), *ONLY_CPU])
    assert result.exit_code == 1
    assert "missing solution" in result.stdout and "solution is error" in result.stdout
    assert "2 of 12 katas have problems" in result.output


def test_verify_requires_contract_clauses_that_name_every_spec(tmp_path: Path) -> None:
    from kata_runner.verify import check_contract

    check = tmp_path / "test_99_demo.py"
    check.write_text('"""Demo.\n\nC1  forward works.  -> forward_works\nC2  nothing named here.\n"""\n\n'
                     "def test_forward_works(kata, device):\n    pass\n\n"
                     "def test_orphan_spec(kata, device):\n    pass\n")
    problems = check_contract(check)
    assert any("clause C2 names no spec" in p for p in problems)
    assert any("test_orphan_spec is not named" in p for p in problems)
    check.write_text('"""No clauses."""\n\ndef test_x(kata, device):\n    pass\n')
    assert any("does not open with its contract clauses" in p for p in check_contract(check))
