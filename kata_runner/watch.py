"""`kata watch`: re-check the current kata each time a file is saved, from a warm process.

One event queue (rustlings' design): the file watcher, the key reader and the check thread each put
their events into it, and one loop consumes them, so there is a single place where state changes. A
save that arrives while a check runs cancels that check (its grading child's process group is killed,
see checker.py) and starts a new one, so a hanging check never delays a fix.

On a terminal the screen is redrawn after each event: the current kata, its verdict, the hints shown,
the progress bar and the keys (h hint, n next, l list, r reset, c check, q quit). Piped, watch prints
plain lines instead: `checking ...` when a check starts, the verdict line (`Kata NN <verdict>: k/n specs
pass`) when it ends, then a line with `watching` (bench/run.py times save-to-verdict from these).
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from kata_runner.checker import Checker
from kata_runner.course import Course, next_hint, reset
from kata_runner.invocation import command
from kata_runner.keys import read_keys, single_keys
from kata_runner.project import display_path
from kata_runner.registry import Kata, all_katas
from kata_runner.render import Prose, kata_list, print_check, print_kata_header, progress_bar
from kata_runner.results import KataResult, Verdict
from kata_runner.storage import State

KEYS_HELP = "h hint | n next | l list | r reset | c check | q quit"


@dataclass(frozen=True)
class FilesChanged:
    paths: frozenset[str]


@dataclass(frozen=True)
class KeyPressed:
    key: str


@dataclass(frozen=True)
class CheckFinished:
    generation: int
    found: tuple[Kata, KataResult] | None  # None: every kata passes
    error: BaseException | None


@dataclass(frozen=True)
class Stop:
    reason: str


Event = FilesChanged | KeyPressed | CheckFinished | Stop


class _Either:
    """Set when either event is: watchfiles polls `is_set()`."""

    def __init__(self, *events: Any) -> None:
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


@contextlib.contextmanager
def _terminate_like_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) end watching the way Ctrl-C does: the check in flight is stopped,
    the terminal restored. (Only the main thread may set handlers; tests run watch in another one.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, interrupt) for signum in wanted}
    # Ctrl-C must work even where watch was started with SIGINT ignored (inherited across exec, e.g. from a
    # pytest-xdist worker or a script's `trap '' INT`).
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def watch(course: Course, console: Console, stop_event: Any = None, keys: int | None = None) -> None:
    """Collect every kata's checks once, then fork a grading child per check (see zygote.py). `keys`: a terminal
    file descriptor to read single keys from; `stop_event`: ends watching when set (for tests and tools)."""
    from kata_runner.grader import warm_up
    from kata_runner.zygote import with_zygote

    warm_up()
    options = course.grade_options
    with_zygote(all_katas(), options.devices, options.spec_timeout,
                lambda _: Watcher(course, console, keys, stop_event).run(), lasting=options.isolate)


class Watcher:
    """The loop's state: the kata in focus, its latest result, what is shown, and the check in flight."""

    def __init__(self, course: Course, console: Console, keys: int | None = None, stop_event: Any = None) -> None:
        self.course = course
        self.console = console
        self.keys_fd = keys
        self.interactive = False  # set once the terminal is in cbreak mode
        self.events: queue.Queue[Event] = queue.Queue()
        self.stopping = threading.Event()
        self.external_stop = stop_event
        self.checker = Checker(inline=not course.grade_options.isolate)
        self.generation = 0
        self.pending: tuple[Callable[[], tuple[Kata, KataResult] | None], str] | None = None
        self.checking: str | None = None  # what is being checked, while a check runs
        self.focus: Kata | None = None
        self.result: KataResult | None = None
        self.done = False  # every kata passes
        self.hints: tuple[str, ...] = ()
        self.notes: list[Prose] = []
        self.showing_list = False
        self.confirming_reset = False

    # ---------------------------------------------------------------- the loop

    def run(self) -> None:
        with _terminate_like_ctrl_c(), single_keys(self.keys_fd) as interactive:
            self.interactive = interactive
            threads = [threading.Thread(target=self._watch_files, name="kata-files", daemon=True)]
            if interactive and self.keys_fd is not None:
                threads.append(threading.Thread(target=read_keys, name="kata-keys", daemon=True, args=(
                    self.keys_fd, lambda k: self.events.put(KeyPressed(k)), self.stopping,
                    lambda: self.events.put(Stop("the input closed")))))
            for thread in threads:
                thread.start()
            try:
                self.check(self._first_not_passing, "your katas")
                self._redraw()
                while not self._handle(self._next_event()):
                    self._redraw()
            except KeyboardInterrupt:
                pass
            finally:
                self.stopping.set()
                self.checker.close()
                for thread in threads:
                    thread.join(timeout=2)
        self.console.print("Stopped watching.")

    def _next_event(self) -> Event:
        while True:
            try:
                return self.events.get(timeout=0.5)
            except queue.Empty:
                continue

    def _watch_files(self) -> None:
        from watchfiles import watch as watch_files

        stop = _Either(self.stopping, self.external_stop)
        for changes in watch_files(Path(self.course.kata_dir), watch_filter=lambda _, path: path.endswith(".py"),
                                   debounce=30, step=10, stop_event=stop, raise_interrupt=False,  # type: ignore[arg-type]
                                   rust_timeout=200):
            self.events.put(FilesChanged(frozenset(path for _, path in changes)))
        if not self.stopping.is_set():
            self.events.put(Stop("asked to stop"))

    def _handle(self, event: Event) -> bool:
        """Apply one event; True when watching should end."""
        if isinstance(event, Stop):
            return True
        if isinstance(event, CheckFinished):
            self._finished(event)
        elif isinstance(event, FilesChanged):
            self.showing_list = False
            self.check(self._focus_job(), self._focus_name())
        elif isinstance(event, KeyPressed):
            return self._key(event.key.lower())
        return False

    # ---------------------------------------------------------------- checks

    def check(self, job: Callable[[], tuple[Kata, KataResult] | None], what: str) -> None:
        """Start `job` now, or, while a check runs, cancel that one and start `job` once it has stopped."""
        self.generation += 1
        self.checking = what
        if not self.console.is_terminal:
            self.console.print(Prose(f"{time.strftime('%H:%M:%S')} checking {what}..."))
        elif self.checker.inline:
            self._redraw()  # the check blocks this thread: show "Checking..." first
        if self.checker.busy:
            self.pending = (job, what)
            self.checker.cancel()
        else:
            self._start(job, what)

    def _start(self, job: Callable[[], tuple[Kata, KataResult] | None], what: str) -> None:
        generation = self.generation
        self.checker.start(job, lambda value, error: self.events.put(CheckFinished(generation, value, error)))

    def _finished(self, event: CheckFinished) -> None:
        if event.generation != self.generation:  # a cancelled check: start the one that replaced it
            if self.pending is not None and not self.checker.busy:
                job, what = self.pending
                self.pending = None
                self._start(job, what)
            return
        self.checking = None
        if event.error is not None:
            self._say(Prose(f"The check itself failed ({type(event.error).__name__}: {event.error}); save again "
                           "to retry.", style="red"))
            self._print_watching()
            return
        previous = self.focus
        if event.found is None:
            if previous is not None and not self.done:
                self._say(Prose(f"Kata {previous.id} passed!", style="green"))
            self.done, self.result = True, None
            if not self.console.is_terminal:
                self.console.print(Prose("Every kata passes: the course is done. Well done!", style="green"))
                self._print_watching()
            return
        kata, result = event.found
        self.done = False
        if previous is not None and kata != previous:
            self.hints = ()
            if self._passes(previous):
                self._say(Prose(f"Kata {previous.id} passed! On to the next one.\n", style="green"))
        self.focus, self.result = kata, result
        if not self.console.is_terminal:
            self._print_result(new_kata=kata != previous)
        if result.verdict is Verdict.PASS and not self.interactive:
            # Nobody can press n: move on at once, as watch did before it read keys.
            self.check(self._first_not_passing, "the next kata")

    def _first_not_passing(self) -> tuple[Kata, KataResult] | None:
        return self.course.current()

    def _focus_job(self, fresh: bool = False) -> Callable[[], tuple[Kata, KataResult] | None]:
        kata = self.focus
        if kata is None or self.done:
            return self._first_not_passing

        def job() -> tuple[Kata, KataResult]:
            cached = None if fresh else self.course.cached(kata)
            return kata, cached or self.course.grade([kata])[0]

        return job

    def _focus_name(self) -> str:
        return display_path(self.focus.impl_path(self.course.kata_dir)) if self.focus else "your katas"

    def _passes(self, kata: Kata) -> bool:
        cached = self.course.cached(kata)
        return cached is not None and cached.verdict is Verdict.PASS

    # ---------------------------------------------------------------- keys

    def _key(self, key: str) -> bool:
        if self.confirming_reset:
            self.confirming_reset = False
            if key == "y":
                self._reset()
            else:
                self._say(Prose("Nothing was reset."))
            return False
        if key == "q":
            return True
        kata = self.focus
        if key == "l":
            self.showing_list = not self.showing_list
            if not self.console.is_terminal and self.showing_list:
                self._print_list()
            return False
        self.showing_list = False
        if kata is None:
            return False
        if key == "h":
            hint = next_hint(kata)
            self.hints = hint.shown
            if not self.console.is_terminal:
                self.console.print(Prose(f"Hint {hint.number}/{len(kata.hints)}: {hint.shown[-1]}"))
        elif key == "n":
            if self.result is not None and self.result.verdict is Verdict.PASS:
                self.check(self._first_not_passing, "the next kata")
            else:
                self._say(Prose(f"Kata {kata.id} does not pass yet: n moves on once it does."))
        elif key == "r":
            self.confirming_reset = True
            if not self.console.is_terminal:
                self.console.print(self._reset_question(kata))
        elif key == "c":
            self.check(self._focus_job(fresh=True), self._focus_name())
        return False

    def _reset_question(self, kata: Kata) -> Prose:
        path = display_path(kata.impl_path(self.course.kata_dir))
        return Prose(f"Reset {path} to the original stub? Your version is backed up first. [y/N]", style="bold")

    def _reset(self) -> None:
        kata = self.focus
        assert kata is not None
        outcome = reset(kata, self.course.kata_dir, State())
        self.hints = ()
        if outcome.backup is not None:
            self._say(Prose(f"Saved your version to {display_path(outcome.backup)}; restored the original stub."))
        elif not outcome.changed:
            self._say(Prose("The file is already the original stub; nothing to do."))
        # The restored file is a save like any other: the file watcher starts its check.

    # ---------------------------------------------------------------- output

    def _say(self, text: Prose) -> None:
        """A short message: printed at once when piped, shown under the verdict on a terminal."""
        if self.console.is_terminal:
            self.notes.append(text)
        else:
            self.console.print(text)

    def _print_watching(self) -> None:
        self.console.print(Prose(f"{time.strftime('%H:%M:%S')} watching {display_path(self.course.kata_dir)} "
                                "(Ctrl-C to stop)", style="dim"))

    def _progress(self) -> Text:
        katas = all_katas()
        return progress_bar(sum(self._passes(k) for k in katas), len(katas))

    def _print_list(self) -> None:
        katas = list(all_katas())
        self.console.print(kata_list(katas, [self.course.cached(k) for k in katas],
                                     self.focus.id if self.focus else None))
        self.console.print(self._progress())

    def _print_result(self, new_kata: bool) -> None:
        kata, result = self.focus, self.result
        if kata is None or result is None:
            return
        if new_kata:
            print_kata_header(self.console, kata, kata.impl_path(self.course.kata_dir))
        print_check(self.console, kata, result, verbose=False)
        self._print_watching()

    def _redraw(self) -> None:
        """On a terminal: the whole screen again, from the state."""
        if not self.console.is_terminal:
            return
        console = self.console
        console.clear()
        if self.showing_list:
            self._print_list()
        elif self.done:
            console.print(Prose("Every kata passes: the course is done. Well done!", style="green"))
        elif self.focus is not None:
            print_kata_header(console, self.focus, self.focus.impl_path(self.course.kata_dir))
            console.print()
            if self.checking:
                console.print(Prose(f"Checking {self.checking}...", style="bold"))
            elif self.result is not None:
                print_check(console, self.focus, self.result, verbose=False)
                if self.result.verdict is Verdict.PASS and self.interactive:
                    console.print(Prose(f"Kata {self.focus.id} passed! Press n for the next kata.", style="green"))
            for number, hint in enumerate(self.hints, start=1):
                console.print(Prose.assemble((f"Hint {number}/{len(self.focus.hints)}:", "bold"), " ", hint))
        elif self.checking:
            console.print(Prose(f"Checking {self.checking}...", style="bold"))
        for note in self.notes:
            console.print(note)
        self.notes = []
        if self.confirming_reset and self.focus is not None:
            console.print(self._reset_question(self.focus))
        console.print()
        if not self.showing_list:
            console.print(self._progress())
        if self.interactive:
            console.print(Prose(KEYS_HELP, style="dim"))
        else:
            console.print(Prose(f"watching {display_path(self.course.kata_dir)} (Ctrl-C to stop). "
                               f"Stuck? `{command('hint')}` in another terminal.", style="dim"))
