"""The harness's own files: atomic writes, corrupt files set aside, and a torch-free cached `kata list`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kata_runner.storage import State, atomic_write_text, read_json, write_json


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "state.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["state.json"]


def test_a_corrupt_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text('{"half written')
    assert read_json(target) == {}
    assert not target.exists()
    assert [p.name.startswith("results.corrupt-") for p in tmp_path.iterdir()] == [True]
    write_json(target, {"ok": 1})
    assert read_json(target) == {"ok": 1}


def test_hint_progress_survives_between_processes(tmp_path: Path) -> None:
    State(tmp_path).set_hints_shown("03", 2)
    assert State(tmp_path).hints_shown("03") == 2
    assert State(tmp_path).hints_shown("04") == 0


def test_a_cached_kata_list_never_imports_torch(tmp_path: Path, stub_dir: Path) -> None:
    env_code = (
        "import sys; from kata_runner.cli import cli\n"
        "try:\n"
        f"    cli(['list', '--kata-dir', {str(stub_dir)!r}, '--device', 'cpu'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    env = {"KATA_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    first = subprocess.run([sys.executable, "-c", env_code], env=env, capture_output=True, text=True, timeout=300)
    assert first.stdout.strip().endswith("TORCH"), first.stderr  # the first run grades
    second = subprocess.run([sys.executable, "-c", env_code], env=env, capture_output=True, text=True, timeout=300)
    assert second.stdout.strip().endswith("NO-TORCH"), second.stdout + second.stderr
    assert "0/12 katas passed" in second.stdout
