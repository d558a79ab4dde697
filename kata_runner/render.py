"""Terminal output with rich: colour on a terminal, plain text when piped or when NO_COLOR is set.

Long lines wrap at word boundaries (continuation lines keep their indent), and piped output carries no
trailing spaces. Every piece of learner- or spec-provided text goes through rich.Text, never through markup,
so brackets in it ("[cpu]", "[###---]") are printed as they are.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from kata_runner.invocation import command
from kata_runner.project import display_path
from kata_runner.registry import Kata
from kata_runner.results import KataResult, SpecResult, SpecStatus, Verdict

__all__ = ["Prose", "display_path", "make_console", "print_check", "print_kata_header", "print_list", "progress_bar"]

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
INDENT = 4


_WORD = re.compile(r"\S+\s*")


class Prose:
    """Text that wraps at spaces only, each wrapped line indented like the first: a word longer than the line
    (a long path) stays whole, so that terminals and IDEs still make it clickable, where rich would cut it."""

    def __init__(self, text: str | Text = "", style: str = "", indent: int = 0) -> None:
        self.text = Text(text, style=style) if isinstance(text, str) else text
        self.indent = indent

    @classmethod
    def assemble(cls, *parts: str | Text | tuple[str, str]) -> Prose:
        return cls(Text.assemble(*parts))

    def __str__(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        width = max(options.max_width - self.indent, 20)
        for line in self.text.split(allow_blank=True):
            # A wrapped line continues under its own first word (a code line under `at file:line` stays a block).
            lead = len(line.plain) - len(line.plain.lstrip(" "))
            lead = lead if lead < width // 2 else 0
            breaks, start, room = [], 0, width
            for word in _WORD.finditer(line.plain):
                if word.start() > max(start, lead) and word.start() - start + len(word.group().rstrip()) > room:
                    breaks.append(word.start())
                    start, room = word.start(), width - lead
            for number, piece in enumerate(line.divide(breaks)):
                piece.rstrip()
                margin = self.indent + (lead if number else 0)
                if margin:
                    yield Segment(" " * margin)
                yield from piece.render(console, end="")
                yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        measured = Measurement.get(console, options, self.text)
        return Measurement(measured.minimum + self.indent, measured.maximum + self.indent)


class _Console(Console):
    """Prints without cropping: Prose has wrapped every line already, and a path longer than the terminal
    must stay whole."""

    def print(self, *objects: Any, crop: bool = False, **options: Any) -> None:  # type: ignore[override]
        super().print(*objects, crop=crop, **options)


class _WithoutTrailingSpaces(io.TextIOBase):
    """A text stream that drops the spaces rich pads lines with (tables, wrapped lines) before each newline."""

    _TRAILING = re.compile(r"[ \t]+(?=\n)")

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        head, newline, self.pending = (self.pending + text).rpartition("\n")
        if newline:
            self.stream.write(self._TRAILING.sub("", head + newline))
        return len(text)

    def flush(self) -> None:
        if self.pending:  # a prompt without a newline: nothing follows it on this line yet
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"


def colour_disabled() -> bool:
    """NO_COLOR (https://no-color.org): set and not empty."""
    return bool(os.environ.get("NO_COLOR"))


def make_console(stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A console on stdout (or stderr). With NO_COLOR it writes no escape codes at all, not even bold or dim,
    even when a terminal is forced (FORCE_COLOR)."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    plain = colour_disabled()
    return _Console(
        file=stream if tty else cast(IO[str], _WithoutTrailingSpaces(stream)),
        highlight=False,
        no_color=plain,
        color_system=None if plain else "auto",
        emoji=False,
    )


def indented(text: str | Text, indent: int = INDENT) -> Prose:
    """Text that wraps at word boundaries, each wrapped line indented like the first."""
    return Prose(text, indent=indent)


def state_text(result: KataResult) -> str:
    if result.verdict is Verdict.FAIL:
        return f"failing ({result.passed_count}/{result.total_count} specs)"
    return result.verdict.label


def progress_bar(done: int, total: int, width: int = 30) -> Text:
    filled = round(width * done / total) if total else 0
    bar = Text("[")
    bar.append("#" * filled, style="green")
    bar.append("-" * (width - filled), style="dim")
    bar.append(f"] {done}/{total} katas passed")
    return bar


def kata_list(katas: Sequence[Kata], results: Sequence[KataResult | None], current: str | None) -> Table:
    """One row per kata: a pointer at the current one, its name, title and state (None: not checked yet)."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for header in ("", "kata", "title", "state"):
        table.add_column(header)
    for kata, result in zip(katas, results):
        pointer = ">" if kata.id == current else " "
        state = Text(state_text(result), style=STYLE[result.verdict]) if result else Text("not checked yet", "dim")
        table.add_row(pointer, kata.name, Text(kata.title), state)
    return table


def print_list(console: Console, katas: Sequence[Kata], results: Sequence[KataResult], current: str | None) -> None:
    console.print(kata_list(katas, results, current))
    passed = sum(r.verdict is Verdict.PASS for r in results)
    console.print(progress_bar(passed, len(results)))


def print_kata_header(console: Console, kata: Kata, path: Path) -> None:
    console.print(Prose(f"Kata {kata.id}: {kata.title}", style="bold"))
    console.print(Prose(f"Open {display_path(path)}"))
    console.print(Prose(kata.objective))


def spec_table(result: KataResult) -> Group:
    """One line per spec (its devices merged): PASS/FAIL/ERROR and its sentence; skipped devices counted."""
    groups: dict[str, list[SpecResult]] = {}
    for spec in result.specs:
        groups.setdefault(spec.name, []).append(spec)
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    skipped: dict[str, int] = {}
    for specs in groups.values():
        ran = [s for s in specs if s.status is not SpecStatus.SKIP]
        for s in specs:
            if s.status is SpecStatus.SKIP:
                skipped[s.message] = skipped.get(s.message, 0) + 1
        worst = next((s for s in ran if s.status is not SpecStatus.PASS), ran[0] if ran else specs[0])
        word, style = MARK[worst.status]
        sentence = Text(worst.doc or worst.name)
        devices = ", ".join(s.device for s in ran if s.device)
        if devices:
            sentence.append(f" [{devices}]", style="dim")
        table.add_row(Text.assemble("  ", (f"{word:5}", style)), Prose(sentence))
    notes = [Prose(f"  {count} spec(s) skipped: {reason}", style="dim") for reason, count in skipped.items()]
    return Group(table, *notes)


def failures_to_explain(result: KataResult) -> list[tuple[SpecResult, int]]:
    """Each failing spec once (the first device it failed on), specs that failed with the very same message
    folded into the first (with how many more), and "not run" specs left out: they only repeat a stop."""
    explained: dict[str, list[SpecResult]] = {}
    seen_names: set[str] = set()
    for spec in result.specs:
        if spec.status not in (SpecStatus.FAIL, SpecStatus.ERROR) or spec.kind == "not_run":
            continue
        if spec.name in seen_names:
            continue
        seen_names.add(spec.name)
        explained.setdefault(spec.message, []).append(spec)
    return [(specs[0], len(specs) - 1) for specs in explained.values()]


def _explanation(spec: SpecResult, heading: str, same: int) -> Group:
    parts: list[RenderableType] = [Prose.assemble("\n", (heading, "bold red"), " ", spec.doc or spec.name)]
    parts.append(indented(spec.message))
    if same:
        parts.append(indented(Text(f"({same} more spec(s) fail with the same message.)", style="dim")))
    if spec.output:
        parts.append(Prose("  Your code printed:", style="dim"))
        parts.append(indented(spec.output))
    return Group(*parts)


def print_check(console: Console, kata: Kata, result: KataResult, verbose: bool = True,
                explain_all: bool = False) -> None:
    """Each spec as pass/fail with its sentence (`verbose`), the first failure explained (every failure with
    `explain_all`), and the verdict line `Kata NN <verdict>: k/n specs pass`."""
    if verbose:
        console.print(spec_table(result))
    failures = failures_to_explain(result)
    if result.verdict in (Verdict.FAIL, Verdict.NOT_STARTED) and failures:
        shown = failures if explain_all else failures[:1]
        for number, (spec, same) in enumerate(shown, start=1):
            heading = f"Failure {number}/{len(failures)}:" if explain_all and len(failures) > 1 else "First failure:"
            console.print(_explanation(spec, heading, same))
        if not explain_all and len(failures) > 1:
            more = len(failures) - 1
            console.print(Prose(f"{more} more failing spec(s): `{command('check', kata.id, '-v')}` explains each.",
                                style="dim"))
    elif result.message and result.verdict is not Verdict.PASS:
        label = Text(f"{result.verdict.label.capitalize()}:", style=f"bold {STYLE[result.verdict]}")
        console.print(Prose.assemble("\n", label, " ", result.message))
    console.print(verdict_line(kata, result))


def verdict_line(kata: Kata, result: KataResult) -> Prose:
    counts = f"{result.passed_count}/{result.total_count} specs pass"
    return Prose.assemble((f"Kata {kata.id} {result.verdict.label}", STYLE[result.verdict]), f": {counts}")


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
