"""Speed benchmark: every target of the speed issue, each against a baseline timed in the same run.

    .venv/bin/python bench/run.py [--runs 5] [--submissions 100] [--readme]

Prints a Markdown table of medians and ratios; --readme also writes it into README.md. Absolute
times on a shared machine are noisy: the ratios against the same-run baselines are what count.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kata_runner.registry import all_katas  # noqa: E402
from kata_runner.testing import with_references  # noqa: E402

PYTHON = sys.executable
KATA = [PYTHON, "-m", "kata_runner"]
ENV = {**os.environ, "KATA_NO_BOOTSTRAP": "1", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
VARIANTS = ROOT / "tests" / "variants"
VERDICT_LINE = re.compile(r"^Kata \d\d .*specs pass")


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def medians(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Interleave the commands run by run, so a burst of load hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # one warm-up each: page cache, .pyc files
        timed(cmd, env)
    for _ in range(runs):
        for name, cmd in commands.items():
            samples[name].append(timed(cmd, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_check(runs: int, state: Path) -> list[tuple[str, float, str, float, str]]:
    env = {**ENV, "KATA_STATE_DIR": str(state)}
    times = medians(
        {
            "torch": [PYTHON, "-c", "import torch"],
            "check": [*KATA, "check", "01", "--solutions"],
            "check_in_process": [*KATA, "check", "01", "--solutions", "--in-process"],
        },
        runs,
        env,
    )
    return [
        ("1. `kata check 01` (passing)", times["check"], '`python -c "import torch"`', times["torch"], "<= 1.3x"),
        ("isolation cost: `kata check 01` forked", times["check"], "the same, `--in-process`",
         times["check_in_process"], "(info)"),
    ]


def bench_watch(runs: int, state: Path) -> tuple[str, float, str, float, str]:
    folder = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    for kata in all_katas():
        shutil.copy(kata.stub_path, folder / kata.filename)
    mistakes = sorted((VARIANTS / "01_custom_linear").glob("mistake_*.py"))
    env = {**ENV, "KATA_STATE_DIR": str(state)}
    proc = subprocess.Popen([*KATA, "watch", "--kata-dir", str(folder)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []
    seen = threading.Condition()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with seen:
                lines.append((time.perf_counter(), line))
                seen.notify_all()

    def wait_for(pattern: re.Pattern[str] | str, after: int, timeout: float = 60.0) -> float:
        deadline = time.perf_counter() + timeout
        with seen:
            while True:
                for stamp, line in lines[after:]:
                    if (pattern.search(line) if isinstance(pattern, re.Pattern) else pattern in line):
                        return stamp
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"watch never printed {pattern!r}:\n" + "".join(text for _, text in lines))
                seen.wait(remaining)

    threading.Thread(target=reader, daemon=True).start()
    latencies = []
    try:
        wait_for("watching", 0)
        time.sleep(0.5)
        # Every mistake variant at least once (a median over a few would hang on which few), in a fixed order.
        for run in range(max(runs * 2, len(mistakes))):
            source = with_references(mistakes[run % len(mistakes)].read_text()) + f"\n# save {run}\n"
            with seen:
                mark = len(lines)
            saved = time.perf_counter()
            (folder / "01_custom_linear.py").write_text(source)
            shown = wait_for(VERDICT_LINE, mark)
            latencies.append(shown - saved)
            wait_for("watching", mark)
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    return ("2. `kata watch`: save to verdict on screen", statistics.median(latencies), "(absolute target)",
            0.3, "< 0.3 s")


def make_submissions(root: Path, count: int, seed: int = 0) -> None:
    """A mix of passing, failing, not-started and missing files; every file made unique by a comment."""
    rng = random.Random(seed)
    for index in range(count):
        folder = root / f"student{index:03d}"
        folder.mkdir(parents=True)
        for kata in all_katas():
            mistakes = sorted((VARIANTS / kata.name).glob("mistake_*.py"))
            corrects = sorted((VARIANTS / kata.name).glob("correct_*.py")) + [kata.solution_path]
            kind = rng.choices(["pass", "fail", "stub", "missing"], weights=[45, 30, 15, 10])[0]
            if kind == "missing":
                continue
            if kind == "pass":
                source = rng.choice(corrects)
            elif kind == "fail":
                source = rng.choice(mistakes)
            else:
                source = kata.stub_path
            (folder / kata.filename).write_text(with_references(source.read_text()) + f"\n# {folder.name}\n")


def bench_grade(count: int, baseline_sample: int, state: Path) -> tuple[str, float, str, float, str]:
    root = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    try:
        make_submissions(root / "subs", count)
        env = {**ENV, "KATA_STATE_DIR": str(state)}
        ours = timed([*KATA, "grade", str(root / "subs"), "--out", str(root / "out"), "--fresh"], env)
        folders = sorted((root / "subs").iterdir())[:baseline_sample]
        pytest_cmd = [PYTHON, "-m", "pytest", "checks", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda f: timed([*pytest_cmd, f"--kata-dir={f}"], env), folders))
        baseline = (time.perf_counter() - started) * count / len(folders)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    note = "" if baseline_sample >= count else f" (timed on {baseline_sample}, scaled)"
    return (f"3. `kata grade`, {count} submissions", ours,
            f"fresh `pytest checks/` per submission{note}", baseline, ">= 5x faster")


def bench_list(runs: int, state: Path) -> tuple[str, float, str, float, str]:
    env = {**ENV, "KATA_STATE_DIR": str(state)}
    subprocess.run([*KATA, "list"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)  # fill the cache
    times = medians({"list": [*KATA, "list"], "python": [PYTHON, "-c", "pass"]}, runs, env)
    return ("4. `kata list`, nothing changed", times["list"], "`python -c pass`", times["python"], "< 0.3 s")


def verdict(target: str, value: float, baseline: float) -> str:
    if target.startswith("<= "):
        return "yes" if value / baseline <= float(target[3:-1]) else "no"
    if target.startswith(">= "):
        return "yes" if baseline / value >= float(target.split()[1][:-1]) else "no"
    if target.startswith("< "):
        return "yes" if value < float(target.split()[1]) else "no"
    return ""


def table(rows: list[tuple[str, float, str, float, str]]) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {_torch_version()} (CPU), no GPU.",
        "",
        "| measurement | median | baseline | baseline median | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, value, base_name, base, target in rows:
        ratio = f"{base / value:.1f}x faster" if target.startswith(">=") else f"{value / base:.2f}x"
        lines.append(f"| {name} | {value:.3f} s | {base_name} | {base:.3f} s | {ratio} | {target} | "
                     f"{verdict(target, value, base)} |")
    return "\n".join(lines)


def _torch_version() -> str:
    out = subprocess.run([PYTHON, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--baseline-sample", type=int, default=None,
                        help="time the baseline on this many submissions and scale (default: all)")
    parser.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-state-"))
    rows = [*bench_check(args.runs, state), bench_watch(args.runs, state)]
    rows.append(bench_grade(args.submissions, args.baseline_sample or args.submissions, state))
    rows.append(bench_list(args.runs, state))
    shutil.rmtree(state, ignore_errors=True)
    text = table(rows)
    print(text)
    if args.readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        block = f"{start}\n{text}\n{end}"
        if start in content:
            content = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, content, flags=re.S)
        else:
            content = content.replace("BENCH_TABLE", block)
        readme.write_text(content)


if __name__ == "__main__":
    main()
