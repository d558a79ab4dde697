"""The `kata` CLI, driven through click's CliRunner the way a learner or a tool would use it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import all_katas, find_kata
from kata_runner.testing import stage

ONLY_CPU = ["--device", "cpu"]


def run(*args: str, input: str | None = None, **env: str):
    """The CLI as a learner runs it, piped: output is 80 columns wide unless COLUMNS says otherwise."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False, env=env or None)


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
    stage(Path(__file__).parent / "variants/01_custom_linear/mistake_bias_never_added.py", stub_dir)
    result = run("check", "custom_linear", "--kata-dir", str(stub_dir), *ONLY_CPU, COLUMNS="200")
    assert result.exit_code == 1
    assert "  PASS  weight (out_features, in_features) and bias (out_features,) are the layer's whole" in result.stdout
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
    assert re.search(r"^\[#+-+\] 1/12 katas passed$", result.stdout, re.MULTILINE), "the bar survives a pass"
    assert not [line for line in lines if line != line.rstrip()], "piped output has no trailing spaces"


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
    result = run("next", "--kata-dir", str(stub_dir), *ONLY_CPU, COLUMNS="300")
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
    first = run("hint", "01", COLUMNS="300").stdout
    assert f"Hint 1/{len(kata.hints)}: {kata.hints[0]}" in first and kata.hints[1] not in first
    second = run("hint", "01", COLUMNS="300").stdout
    assert kata.hints[0] in second and f"Hint 2/{len(kata.hints)}: {kata.hints[1]}" in second
    for _ in range(len(kata.hints)):
        last = run("hint", "01", COLUMNS="300").stdout
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
    for answer in ("n\n", "\n"):  # no is the default
        result = CliRunner().invoke(cli, ["reset", "01", "--kata-dir", str(stub_dir)], input=answer)
        assert result.exit_code == 0 and "Nothing was reset" in result.output, "declining is not an error"
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
    result = run("verify", "--no-variants", *ONLY_CPU)  # the variants: tests/test_variants.py
    assert result.exit_code == 0, result.stdout
    assert f"All {len(all_katas())} katas verified" in result.stdout


def test_verify_reports_a_broken_solution_set(solution_dir: Path) -> None:
    (solution_dir / "02_learned_norm.py").write_text("raise NotImplementedError\n")
    (solution_dir / "03_module_inventory.py").unlink()
    result = CliRunner().invoke(cli, ["verify", "--kata-dir", str(solution_dir), "--no-variants", *ONLY_CPU])
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


# ------------------------------------------------------------------ files in other encodings


LATIN1_STUB_TAIL = b"# a note about the caf\xe9 on the corner\n"


def test_reset_backs_up_a_file_in_another_encoding_byte_for_byte(stub_dir: Path, private_state: Path) -> None:
    target = stub_dir / "01_custom_linear.py"
    mine = find_kata("01").stub_path.read_bytes() + LATIN1_STUB_TAIL
    target.write_bytes(mine)
    result = run("reset", "01", "--kata-dir", str(stub_dir), "--yes")
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == find_kata("01").stub_path.read_text(encoding="utf-8")
    [saved] = (private_state / "backups").iterdir()
    assert saved.read_bytes() == mine, "the learner's bytes, exactly"


def test_check_calls_a_file_that_is_not_utf8_an_error_and_says_where(stub_dir: Path) -> None:
    target = stub_dir / "01_custom_linear.py"
    stub = find_kata("01").stub_path.read_bytes()
    target.write_bytes(stub + LATIN1_STUB_TAIL)
    doc = json.loads(run("check", "01", "--kata-dir", str(stub_dir), "--json", *ONLY_CPU).stdout)
    assert doc["verdict"] == "error", "not 'not started': Python cannot read this file as it is"
    line = stub.count(b"\n") + 1
    assert f"not valid UTF-8: byte 0xe9 at line {line}, column 23" in doc["message"]
    assert "save the file as UTF-8" in doc["message"]


# ------------------------------------------------------------------ colour, wrapping


def test_no_color_means_no_escape_codes_at_all_even_on_a_forced_terminal(stub_dir: Path) -> None:
    coloured = run("check", "01", "--kata-dir", str(stub_dir), *ONLY_CPU, FORCE_COLOR="1", NO_COLOR="")
    assert "\x1b[" in coloured.stdout, "a forced terminal gets styles..."
    plain = run("check", "01", "--kata-dir", str(stub_dir), *ONLY_CPU, FORCE_COLOR="1", NO_COLOR="1")
    assert "\x1b" not in plain.stdout, "...but not with NO_COLOR: not even bold or dim"
    assert "Kata 01 not started" in plain.stdout


def test_long_lines_wrap_at_word_boundaries(stub_dir: Path) -> None:
    result = run("next", "--kata-dir", str(stub_dir), *ONLY_CPU, COLUMNS="50")
    lines = result.stdout.splitlines()
    assert len(lines) > 10
    too_long = [line for line in lines if len(line) > 50 and len(line.split()) > 1]
    assert too_long == [], "only a single word longer than the line (a path) may exceed it"
    words = set(result.stdout.split())
    assert set(find_kata("01").objective.split()) <= words, "no word is cut in two"
    assert str(stub_dir / "01_custom_linear.py") in words, "a long path stays whole: still clickable"


# ------------------------------------------------------------------ check explains, and points on


def test_check_v_explains_every_failing_spec(stub_dir: Path) -> None:
    stage(Path(__file__).parent / "variants/01_custom_linear/mistake_weight_transposed.py", stub_dir)
    short = run("check", "01", "--kata-dir", str(stub_dir), *ONLY_CPU)
    assert short.stdout.count("First failure:") == 1 and "Failure 2/" not in short.stdout
    more = re.search(r"(\d+) more failing spec\(s\): `kata check 01 -v` explains each", short.stdout)
    assert more, short.stdout
    for flag in ("-v", "--all"):
        full = run("check", "01", "--kata-dir", str(stub_dir), *ONLY_CPU, flag, COLUMNS="200")
        total = int(more.group(1)) + 1
        assert [f"Failure {n}/{total}:" in full.stdout for n in range(1, total + 1)] == [True] * total
        assert "(out_features, in_features)" in full.stdout and "must match the size" in full.stdout


def test_a_passing_check_points_to_the_next_kata(stub_dir: Path) -> None:
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    result = run("check", "01", "--kata-dir", str(stub_dir), *ONLY_CPU, COLUMNS="200")
    assert result.exit_code == 0
    assert "Next: kata 02, A learned normalisation. Open " in result.stdout
    assert "then run `kata check 02`" in result.stdout


def test_check_of_an_unknown_kata_suggests_the_closest(stub_dir: Path) -> None:
    for wrong, meant in (("99", "09 (clip_grad_hook)"), ("custom_lineer", "01 (custom_linear)"), ("inventry", "03")):
        result = CliRunner().invoke(cli, ["check", wrong, "--kata-dir", str(stub_dir)])
        assert result.exit_code == 1
        assert f"There is no kata '{wrong}'" in result.output and f"Did you mean {meant}" in result.output


# ------------------------------------------------------------------ hints


def test_hint_on_a_passing_kata_says_so(stub_dir: Path, private_state: Path) -> None:
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    result = run("hint", "01", "--kata-dir", str(stub_dir))
    assert result.exit_code == 0
    assert "Kata 01 already passes: no hint needed" in result.stdout and "Hint 1/" not in result.stdout


def test_reset_starts_the_hints_over(stub_dir: Path) -> None:
    kata = find_kata("01")
    run("hint", "01", "--kata-dir", str(stub_dir))
    assert f"Hint 2/{len(kata.hints)}" in run("hint", "01", "--kata-dir", str(stub_dir)).stdout
    run("reset", "01", "--kata-dir", str(stub_dir), "--yes")
    again = run("hint", "01", "--kata-dir", str(stub_dir)).stdout
    assert f"Hint 1/{len(kata.hints)}" in again and kata.hints[1] not in again


# ------------------------------------------------------------------ learner code that raises KeyboardInterrupt


@pytest.mark.parametrize("where", ["import", "forward"])
def test_a_keyboardinterrupt_from_learner_code_is_not_blamed_on_sys_exit(stub_dir: Path, where: str) -> None:
    body = {
        "import": "raise KeyboardInterrupt\n",
        "forward": "from kata_runner.testing import solution\n\n\nclass CustomLinear(solution('01').CustomLinear):\n"
                   "    def forward(self, x):\n        raise KeyboardInterrupt\n",
    }[where]
    source = stub_dir / "source.py"
    source.write_text(body)
    stage(source, stub_dir, find_kata("01"))
    doc = json.loads(run("check", "01", "--kata-dir", str(stub_dir), "--json", *ONLY_CPU).stdout)
    messages = " ".join([doc.get("message") or "", doc["summary"], *(t["message"] or "" for t in doc["tests"])])
    assert "KeyboardInterrupt" in messages
    assert "sys.exit" not in messages, messages


# ------------------------------------------------------------------ commands as the learner ran them


def test_suggestions_use_the_command_the_learner_typed(stub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kata_runner

    monkeypatch.setattr(sys, "argv", [str(Path(kata_runner.__file__).parent / "__main__.py"), "next"])
    monkeypatch.setattr(sys, "orig_argv", ["python3", "-m", "kata_runner", "next"])
    result = run("next", "--kata-dir", str(stub_dir), *ONLY_CPU, COLUMNS="200")
    assert "run `python3 -m kata_runner check 01` (or `python3 -m kata_runner watch`)" in result.stdout
    assert "`python3 -m kata_runner hint 01`" in result.stdout


def test_the_program_name_follows_how_it_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    from kata_runner.invocation import VENV_PYTHON, program

    main = "/somewhere/kata_runner/__main__.py"
    monkeypatch.setattr(sys, "orig_argv", [".venv/bin/python", "-m", "kata_runner"])
    assert program(main) == ".venv/bin/python -m kata_runner"
    monkeypatch.setattr(sys, "orig_argv", [str(VENV_PYTHON), "-m", "kata_runner"])  # re-executed by the set-up
    assert program(main) == "python3 -m kata_runner"
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert program(".venv/bin/kata") == ".venv/bin/kata", "not on PATH: the path as typed"
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/kata")
    assert program("/usr/local/bin/kata") == "kata"


def test_commands_work_from_a_sub_folder_and_print_paths_from_there(
    tmp_path: Path, stub_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = stub_dir.parent  # holds katas/; give it checks/ too, as a learner's clone has
    (project / "checks").mkdir()
    shutil.copy(find_kata("01").solution_path, stub_dir / "01_custom_linear.py")
    monkeypatch.chdir(project / "checks")
    result = run("next", *ONLY_CPU, COLUMNS="200")
    assert "Kata 02: A learned normalisation" in result.stdout, "katas/ found by walking up from checks/"
    assert "Open ../katas/02_learned_norm.py" in result.stdout
    monkeypatch.chdir(stub_dir)
    result = run("check", "02", *ONLY_CPU, COLUMNS="200")
    assert "at 02_learned_norm.py:" in result.stdout, "from katas/ itself: the bare file name"


# ------------------------------------------------------------------ timeouts


def spec_sentences(kata_id: str) -> set[str]:
    """The first line of every spec's docstring in the kata's check module."""
    import ast

    tree = ast.parse(find_kata(kata_id).check_path.read_text())
    return {
        (ast.get_docstring(node) or "").strip().splitlines()[0]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and ast.get_docstring(node)
    }


@pytest.mark.parametrize(
    ("limits", "stopped_by"),
    [(["--spec-timeout", "1.5"], "was stopped at its time limit"), (["--time-limit", "3"], "stopped after the 3 s")],
    ids=["spec-timeout", "wall-clock"],
)
def test_a_timeout_names_the_spec_by_its_sentence_and_keeps_the_real_count(
    stub_dir: Path, limits: list[str], stopped_by: str
) -> None:
    stage(Path(__file__).parent / "hostile/infinite_loop.py", stub_dir, find_kata("01"))
    result = run("check", "01", "--kata-dir", str(stub_dir), *ONLY_CPU, *limits, COLUMNS="300")
    assert "Kata 01 timed out" in result.stdout and stopped_by in result.stdout
    verdict = result.stdout[result.stdout.index("Timed out:"):]
    assert any(f"'{sentence}'" in verdict for sentence in spec_sentences("01")), "the sentence, not a function name"
    assert re.search(r"Kata 01 timed out: \d+/19 specs pass", result.stdout), "every spec counts, run or not"
    if "spec-timeout" in limits:
        assert "01_custom_linear.py:" in result.stdout and "while True:" in result.stdout, "the learner's line"


# ------------------------------------------------------------------ the process itself


def test_the_command_exits_with_click_s_code_and_all_its_output() -> None:
    """main() ends the process without the interpreter's teardown: the exit codes and the output must be what
    click gives, every line of it."""
    env = {**os.environ, "KATA_NO_BOOTSTRAP": "1", "NO_COLOR": "1", "COLUMNS": "120"}

    def kata(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kata_runner", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    listed = kata("list")
    assert listed.returncode == 0, listed.stderr
    assert "12_partial_load" in listed.stdout and listed.stdout.endswith("katas passed\n")
    unknown = kata("hint", "99")
    assert unknown.returncode == 1 and "There is no kata '99'" in unknown.stderr
    assert kata("--no-such-option").returncode == 2


def test_exit_now_says_a_text_code_and_exits_1() -> None:
    done = subprocess.run([sys.executable, "-c", "from kata_runner.cli import exit_now; print('kept'); "
                           "exit_now('it went wrong')"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (1, "kept\n", "it went wrong\n")
