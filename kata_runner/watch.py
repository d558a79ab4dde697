"""`kata watch`: re-grade the current kata from a warm process each time a file is saved."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from kata_runner.course import Course
from kata_runner.render import print_check, print_kata_header


def _is_python(change: object, path: str) -> bool:
    return path.endswith(".py")


def show_current(course: Course, console: Console, previous: str | None) -> str | None:
    found = course.current()
    if found is None:
        console.print("[green]Every kata passes: the course is done.[/] Press Ctrl-C to stop watching.")
        return None
    kata, result = found
    if previous and previous != kata.id:
        console.print(f"[green]Kata {previous} passed![/] On to the next one.\n")
    if previous != kata.id:
        print_kata_header(console, kata, kata.impl_path(course.kata_dir))
    print_check(console, kata, result, verbose=False)
    console.print(f"[dim]{time.strftime('%H:%M:%S')} watching {course.kata_dir} (Ctrl-C to stop)[/]")
    return kata.id


def watch(course: Course, console: Console, stop_event: Any = None) -> None:
    """Collect every kata's checks once, then fork a grading child per save (see zygote.py)."""
    from kata_runner.grader import warm_up
    from kata_runner.registry import all_katas
    from kata_runner.zygote import with_zygote

    warm_up()
    options = course.grade_options
    with_zygote(all_katas(), options.devices, options.spec_timeout, lambda _: _loop(course, console, stop_event))


def _loop(course: Course, console: Console, stop_event: Any) -> None:
    from watchfiles import watch as watch_files

    try:
        current = show_current(course, console, None)
        for _changes in watch_files(
            Path(course.kata_dir),
            watch_filter=_is_python,
            debounce=30,
            step=10,
            stop_event=stop_event,
            raise_interrupt=True,  # type: ignore[arg-type]
        ):
            console.print()
            current = show_current(course, console, current)
    except KeyboardInterrupt:
        pass
    console.print("Stopped watching.")
