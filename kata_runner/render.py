"""Terminal output with rich: colour on a terminal, plain text when piped or when NO_COLOR is set."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kata_runner.registry import Kata
from kata_runner.results import KataResult, SpecResult, SpecStatus, Verdict

STYLE = {
    Verdict.PASS: "green",
    Verdict.FAIL: "yellow",
    Verdict.NOT_STARTED: "dim",
    Verdict.ERROR: "red",
    Verdict.TIMEOUT: "red",
    Verdict.CRASHED: "red",
    Verdict.MEMORY: "red",
}
MARK = {
    SpecStatus.PASS: ("PASS", "green"),
    SpecStatus.FAIL: ("FAIL", "red"),
    SpecStatus.ERROR: ("ERROR", "red"),
    SpecStatus.SKIP: ("SKIP", "dim"),
}


def make_console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True, no_color="NO_COLOR" in os.environ or None)


def display_path(path: Path) -> str:
    """Relative to the working directory when it lies below it, else absolute: either way a path that
    terminals and IDEs make clickable."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(Path(path).resolve()) if relative.startswith("..") else relative


def state_text(result: KataResult) -> str:
    if result.verdict is Verdict.FAIL:
        return f"failing ({result.passed_count}/{result.total_count} specs)"
    return result.verdict.label


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else 0
    return f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} katas passed"


def print_list(console: Console, katas: Sequence[Kata], results: Sequence[KataResult], current: str | None) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("kata")
    table.add_column("title")
    table.add_column("state")
    for kata, result in zip(katas, results):
        pointer = ">" if kata.id == current else " "
        table.add_row(pointer, kata.name, escape(kata.title), f"[{STYLE[result.verdict]}]{state_text(result)}[/]")
    console.print(table)
    passed = sum(r.verdict is Verdict.PASS for r in results)
    console.print(progress_bar(passed, len(results)))


def print_kata_header(console: Console, kata: Kata, path: Path) -> None:
    console.print(f"[bold]Kata {kata.id}: {escape(kata.title)}[/]")
    console.print(f"Open {escape(display_path(path))}")
    console.print(escape(kata.objective))


def print_check(console: Console, kata: Kata, result: KataResult, verbose: bool = True) -> None:
    """Each spec as pass/fail with its sentence, the first failure made readable, and k/n."""
    if verbose:
        groups: dict[str, list[SpecResult]] = {}
        for spec in result.specs:
            groups.setdefault(spec.name, []).append(spec)
        skipped: dict[str, int] = {}
        for specs in groups.values():
            ran = [s for s in specs if s.status is not SpecStatus.SKIP]
            for s in specs:
                if s.status is SpecStatus.SKIP:
                    skipped[s.message] = skipped.get(s.message, 0) + 1
            worst = next((s for s in ran if s.status is not SpecStatus.PASS), ran[0] if ran else specs[0])
            word, style = MARK[worst.status]
            devices = ", ".join(s.device for s in ran if s.device)
            suffix = f" [dim]\\[{escape(devices)}][/]" if devices else ""
            console.print(f"  [{style}]{word:5}[/] {escape(worst.doc or worst.name)}{suffix}")
        for reason, count in skipped.items():
            console.print(f"  [dim]{count} spec(s) skipped: {escape(reason)}[/]")
    first = result.first_failure
    if result.verdict in (Verdict.FAIL, Verdict.NOT_STARTED) and first is not None:
        console.print(f"\n[bold red]First failure:[/] {escape(first.doc or first.name)}")
        console.print(escape(_indent(first.message)))
        if first.output:
            console.print("[dim]Your code printed:[/]")
            console.print(escape(_indent(first.output)))
    elif result.message and result.verdict is not Verdict.PASS:
        label = result.verdict.label.capitalize()
        console.print(f"\n[bold {STYLE[result.verdict]}]{escape(label)}:[/] {escape(result.message)}")
    style = STYLE[result.verdict]
    counts = f"{result.passed_count}/{result.total_count} specs pass"
    console.print(f"[{style}]Kata {kata.id} {result.verdict.label}[/]: {counts}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


@contextmanager
def progress_reporter(console: Console, total: int, description: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar on a terminal; a few plain lines otherwise. Yields `advance()`."""
    if console.is_terminal:
        from rich.progress import MofNCompleteColumn, Progress

        with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console) as progress:
            task = progress.add_task(description, total=total)
            yield lambda: progress.advance(task)
        return
    done = 0
    console.print(f"{description}: {total} kata grade(s) to do")

    def advance() -> None:
        nonlocal done
        done += 1
        if done == total or done % max(1, total // 10) == 0:
            console.print(f"  {done}/{total}")

    yield advance
