"""Golden examples (as in exercism's test runners): each folder in tests/scenarios/ holds an
implementation of kata 01 and the expected `kata check 01 --json` document, normalised.

Regenerate after an intended change with: KATA_UPDATE_GOLDEN=1 pytest tests/test_scenarios.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kata_runner.cli import cli
from kata_runner.registry import find_kata
from kata_runner.testing import stage

SCENARIOS = sorted(p for p in (Path(__file__).parent / "scenarios").iterdir() if p.is_dir())
VOLATILE = {"duration", "test_code", "sandbox"}  # sandbox: "on", or "off: why" where this machine has none


def normalise(doc: Any, folder: Path) -> Any:
    if isinstance(doc, dict):
        return {k: normalise(v, folder) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [normalise(v, folder) for v in doc]
    if isinstance(doc, str):
        return doc.replace(os.path.relpath(folder), "<kata-dir>").replace(str(folder), "<kata-dir>")
    return doc


@pytest.mark.parametrize("folder", SCENARIOS, ids=lambda p: p.name)
def test_check_json_matches_the_golden_document(folder: Path, tmp_path: Path) -> None:
    staged = tmp_path / folder.name  # graded where the references it loads are embedded (solutions/ is hidden)
    staged.mkdir()
    stage(folder / "01_custom_linear.py", staged, find_kata("01"))
    result = CliRunner().invoke(cli, ["check", "01", "--kata-dir", str(staged), "--json", "--device", "cpu"])
    actual = normalise(json.loads(result.stdout), staged)
    golden = folder / "expected_results.json"
    if os.environ.get("KATA_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(actual, indent=2) + "\n")
    assert actual == json.loads(golden.read_text())
    assert result.exit_code == (0 if actual["status"] == "pass" else 1)
