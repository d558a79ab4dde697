"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kata_runner.registry import PROJECT_ROOT, all_katas

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hints, cached results and backups go to a temporary folder, never to the developer's .kata/."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("KATA_STATE_DIR", str(state))
    monkeypatch.delenv("KATA_DIR", raising=False)
    # Subprocesses (pytester's, the CLI's) find this repo's course wherever they run, as this process did.
    monkeypatch.setenv("KATA_COURSE", str(PROJECT_ROOT))
    monkeypatch.setenv("NO_COLOR", "1")
    return state


@pytest.fixture
def stub_dir(tmp_path: Path) -> Path:
    """A copy of every pristine stub, as a learner's fresh katas/ folder."""
    folder = tmp_path / "katas"
    folder.mkdir()
    for kata in all_katas():
        shutil.copy(kata.stub_path, folder / kata.filename)
    return folder


@pytest.fixture
def solution_dir(tmp_path: Path) -> Path:
    """A copy of every reference solution, as a learner who finished the course."""
    folder = tmp_path / "done"
    folder.mkdir()
    for kata in all_katas():
        shutil.copy(kata.solution_path, folder / kata.filename)
    return folder
