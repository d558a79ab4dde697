"""The pytest plugin on its own, through pytester: device parametrization, --kata-dir loading,
seeding, per-spec timeouts and the report stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kata_runner.plugin import NO_CUDA_REASON, available_devices
from kata_runner.testing import with_references

SPEC = '''
import torch
from kata_runner.probing import probe

@probe
def weight_device(impl, device):
    return impl.CustomLinear(3, 2, device=device).weight

def test_layer_builds_on_the_device(kata, device):
    """The implementation is loaded from --kata-dir and builds on the device."""
    weight = kata.run(weight_device, device)
    assert weight.device.type == device.type
'''

WHO_RUNS = '''
import os
import sys
from kata_runner.probing import probe

@probe
def whereabouts(impl):
    return {"pid": os.getpid(), "modules": sorted(m for m in sys.modules if m.startswith("kata_impl_"))}

def test_report_who_runs_what(kata, device):
    """reports which process ran the learner's code"""
    seen = kata.run(whereabouts)
    judge = sorted(m for m in sys.modules if m.startswith("kata_impl_"))
    print(f"JUDGE={os.getpid()} SUBJECT={seen['pid']} JUDGE_MODULES={judge} SUBJECT_MODULES={seen['modules']}")
'''


@pytest.fixture
def impl_dir(pytester: pytest.Pytester) -> Path:
    folder = pytester.mkdir("impl")
    (folder / "01_custom_linear.py").write_text(with_references("from kata_runner.testing import solution\n\n"
                                                                 "CustomLinear = solution('01').CustomLinear\n"))
    return folder


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "kata_runner.plugin", "-p", "no:cacheprovider", *args)


def test_every_spec_runs_on_cpu_and_cuda_with_cuda_skipped_where_absent(pytester, impl_dir) -> None:
    pytester.makepyfile(test_01_custom_linear=SPEC)
    result = run(pytester, "-v", "-rs", f"--kata-dir={impl_dir}")
    result.stdout.fnmatch_lines(["*test_layer_builds_on_the_device?cpu? PASSED*"])
    if "cuda" in available_devices():
        result.stdout.fnmatch_lines(["*test_layer_builds_on_the_device?cuda? PASSED*"])
    else:
        result.stdout.fnmatch_lines(["*test_layer_builds_on_the_device?cuda? SKIPPED*", f"*{NO_CUDA_REASON}*"])


def test_device_option_narrows_the_set(pytester, impl_dir) -> None:
    pytester.makepyfile(test_01_custom_linear=SPEC)
    result = run(pytester, "-v", "--device", "cpu", f"--kata-dir={impl_dir}")
    result.assert_outcomes(passed=1)
    assert "[cuda]" not in result.stdout.str()


def test_kata_dir_also_comes_from_the_environment(pytester, impl_dir, monkeypatch) -> None:
    pytester.makepyfile(test_01_custom_linear=SPEC)
    monkeypatch.setenv("KATA_DIR", str(impl_dir))
    run(pytester, "--device", "cpu").assert_outcomes(passed=1)


def test_a_missing_implementation_is_reported_by_path(pytester, tmp_path) -> None:
    pytester.makepyfile(test_01_custom_linear=SPEC)
    result = run(pytester, "--device", "cpu", f"--kata-dir={tmp_path}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*01_custom_linear.py does not exist*"])


def test_every_spec_starts_from_the_same_seed(pytester, impl_dir) -> None:
    pytester.makepyfile(test_01_custom_linear='''
import torch
seen = []

def test_first(device):
    """draws"""
    seen.append(torch.rand(3).tolist())

def test_second(device):
    """draws again, from the same seed"""
    assert torch.rand(3).tolist() == seen[0]
''')
    run(pytester, "--device", "cpu").assert_outcomes(passed=2)


def test_a_looping_spec_times_out_instead_of_hanging(pytester, impl_dir) -> None:
    pytester.makepyfile(test_01_custom_linear='''
def test_loops(kata, device):
    """never ends"""
    while True:
        pass
''')
    result = run(pytester, "--device", "cpu", "--spec-timeout", "0.5", f"--kata-dir={impl_dir}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Timeout*"])


def test_the_report_streams_one_json_line_per_event(pytester, impl_dir, tmp_path) -> None:
    pytester.makepyfile(test_01_custom_linear=SPEC)
    report = tmp_path / "report.jsonl"
    run(pytester, f"--kata-dir={impl_dir}", f"--kata-report={report}")
    events = [json.loads(line) for line in report.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "collected" and kinds[-1] == "done"
    results = [e for e in events if e["event"] == "result"]
    assert {r["device"] for r in results} == {"cpu", "cuda"}
    cpu = next(r for r in results if r["device"] == "cpu")
    assert cpu["status"] == "pass" and cpu["name"] == "layer builds on the device"
    assert cpu["doc"] == "The implementation is loaded from --kata-dir and builds on the device."
    assert "def test_layer_builds_on_the_device" in cpu["test_code"]


def _who(result: pytest.RunResult) -> dict[str, str]:
    line = next(x for x in result.stdout.lines if "JUDGE=" in x)
    return dict(part.split("=", 1) for part in line[line.index("JUDGE="):].split(" "))


def test_the_judge_never_imports_the_learners_code(pytester, impl_dir) -> None:
    """Spec functions run in a process that never imports the implementation; a subject process does."""
    pytester.makepyfile(test_01_custom_linear=WHO_RUNS)
    result = run(pytester, "-s", "--device", "cpu", f"--kata-dir={impl_dir}")
    result.assert_outcomes(passed=1)
    fields = _who(result)
    assert fields["JUDGE"] != fields["SUBJECT"]
    assert fields["JUDGE_MODULES"] == "[]"
    assert "kata_impl_01_custom_linear" in fields["SUBJECT_MODULES"]


def test_in_process_mode_runs_the_learners_code_in_the_judge_for_debuggers(pytester, impl_dir) -> None:
    pytester.makepyfile(test_01_custom_linear=WHO_RUNS)
    result = run(pytester, "-s", "--device", "cpu", "--in-process", f"--kata-dir={impl_dir}")
    result.assert_outcomes(passed=1)
    fields = _who(result)
    assert fields["JUDGE"] == fields["SUBJECT"]
    assert "kata_impl_01_custom_linear" in fields["JUDGE_MODULES"]


def test_drawing_inputs_writes_nothing_into_the_project(pytester, impl_dir) -> None:
    """Hypothesis keeps no example database, and its cache goes to the temporary folder."""
    pytester.makepyfile(test_01_custom_linear='''
from kata_runner.draw import given, st

@given(n=st.integers(1, 5))
def test_draws(kata, device, n):
    """draws"""
    assert 1 <= n <= 5
''')
    run(pytester, "--device", "cpu", f"--kata-dir={impl_dir}").assert_outcomes(passed=1)
    assert not (pytester.path / ".hypothesis").exists()
