"""The `kata` command: a thin layer that parses arguments, calls the core and prints."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from kata_runner import defaults
from kata_runner.course import Course, next_hint, reset
from kata_runner.exporters import FORMATS, combined_exercism
from kata_runner.grader import GradeOptions
from kata_runner.invocation import command
from kata_runner.isolation import CAN_FORK, Limits
from kata_runner.project import default_kata_dir, display_path, set_learner_cwd
from kata_runner.registry import (
    SOLUTIONS_DIR,
    CourseError,
    Kata,
    NoCourse,
    UnknownKata,
    all_katas,
    course_info,
    find_kata,
)
from kata_runner.render import (
    Prose,
    make_console,
    print_check,
    print_kata_header,
    print_list,
    progress_reporter,
)
from kata_runner.results import KataResult, Verdict

HELP = {
    "kata_dir": "Folder to load implementations from (default: katas/, or $KATA_DIR).",
    "solutions": "Grade the reference solutions (same as --kata-dir solutions).",
    "device": "Run the specs on this device only (repeatable; default: every available device).",
    "json": "Print one JSON document (exercism test-runner v3) and nothing else on stdout.",
    "jobs": "How many katas to grade at once (default: all cores).",
    "time_limit": f"Wall-clock seconds a kata may take before it is stopped (default {defaults.KATA_WALL_SECONDS:g}).",
    "spec_timeout": f"Seconds one spec may take (default {defaults.SPEC_TIMEOUT:g}).",
    "memory": f"Memory cap per grading process, in MB (default {defaults.MEMORY_MB}).",
    "in_process": "Grade inside this process, without isolation or limits (for debuggers).",
    "explain_all": "Explain every failing spec, not just the first.",
}


def _kata_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--solutions", is_flag=True, help=HELP["solutions"])(f)
    return click.option(
        "--kata-dir", type=click.Path(file_okay=False, path_type=Path), envvar="KATA_DIR", help=HELP["kata_dir"]
    )(f)


def limit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--device, -j and the limits, shared by every command that grades."""
    for decorator in reversed(
        [
            click.option("--device", "devices", multiple=True, type=click.Choice(["cpu", "cuda"]), help=HELP["device"]),
            click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help=HELP["jobs"]),
            click.option("--time-limit", type=click.FloatRange(min=0.5), default=None, help=HELP["time_limit"]),
            click.option("--spec-timeout", type=click.FloatRange(min=0.1), default=None, help=HELP["spec_timeout"]),
            click.option("--memory-mb", type=click.IntRange(min=64), default=None, help=HELP["memory"]),
            click.option("--in-process", is_flag=True, help=HELP["in_process"]),
        ]
    ):
        f = decorator(f)
    return f


def grading_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--kata-dir/--solutions plus the limit options."""
    return _kata_dir_option(limit_options(f))


def resolve_kata_dir(kata_dir: Path | None, solutions: bool) -> Path:
    if kata_dir and solutions:
        raise click.ClickException("Give either --kata-dir or --solutions, not both.")
    chosen = SOLUTIONS_DIR if solutions else (kata_dir or default_kata_dir())
    if not chosen.is_dir():
        raise click.ClickException(
            f"The folder {chosen} does not exist: pass --kata-dir with a folder of NN_slug.py files."
        )
    return chosen.resolve()


def make_grade_options(
    devices: tuple[str, ...] = (),
    time_limit: float | None = None,
    spec_timeout: float | None = None,
    memory_mb: int | None = None,
    in_process: bool = False,
) -> GradeOptions:
    spec = spec_timeout or defaults.SPEC_TIMEOUT
    wall = time_limit or max(defaults.KATA_WALL_SECONDS, spec + 5.0)
    limits = Limits(wall, (memory_mb or defaults.MEMORY_MB) * 2**20)
    devices = tuple(dict.fromkeys(devices))  # --device cpu --device cpu means cpu once
    return GradeOptions(devices=devices, spec_timeout=spec, limits=limits, isolate=CAN_FORK and not in_process)


def make_course(
    kata_dir: Path | None = None,
    solutions: bool = False,
    devices: tuple[str, ...] = (),
    jobs: int | None = None,
    **limits: Any,
) -> Course:
    directory = resolve_kata_dir(kata_dir, solutions)
    return Course(directory, jobs or os.cpu_count() or 1, make_grade_options(devices, **limits))


def kata_argument(value: str | None) -> Kata | None:
    if value is None:
        return None
    try:
        return find_kata(value)
    except UnknownKata as exc:
        closest = closest_kata(value)
        suggestion = f" Did you mean {closest.id} ({closest.slug})?" if closest else ""
        raise click.ClickException(str(exc).capitalize() + suggestion) from None


def closest_kata(value: str) -> Kata | None:
    """The kata whose id, slug or name is most like `value` (difflib), if any is close enough."""
    keys = {key: kata for kata in all_katas() for key in (kata.id, kata.slug, kata.name)}
    wanted = value.strip().lower().removesuffix(".py")
    if wanted.isdigit():
        wanted = wanted.zfill(2)
    found = difflib.get_close_matches(wanted, list(keys), n=1, cutoff=0.5)
    return keys[found[0]] if found else None


COURSE_HELP = "The course folder (holds course.toml; default: found from the current folder up, or $KATA_COURSE)."
NEEDS_NO_COURSE = {"new"}


class CourseGroup(click.Group):
    """Remembers the subcommand's own arguments, so that `kata list --help` works outside a course."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        found = super().resolve_command(ctx, args)
        ctx.meta["kata.command_args"] = found[2]
        return found


@click.group(cls=CourseGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="torch-katas")
@click.option("--course", type=click.Path(file_okay=False, path_type=Path), default=None, help=COURSE_HELP)
@click.pass_context
def cli(ctx: click.Context, course: Path | None) -> None:
    """torch-katas: learn nn.Module internals one kata at a time.

    Start with `kata next`; edit the file it names; run `kata check` or `kata watch`.
    """
    set_learner_cwd(Path.cwd())
    ctx.call_on_close(lambda: set_learner_cwd(None))
    asks_for_help = {"-h", "--help"} & set(ctx.meta.get("kata.command_args", ()))
    if ctx.invoked_subcommand not in NEEDS_NO_COURSE and not asks_for_help:
        require_course_here(course)
    if ctx.invoked_subcommand is None:
        ctx.invoke(next_cmd)


def require_course_here(course: Path | None) -> None:
    """The course this process found on import (registry.py) must exist, and be the one --course names."""
    from kata_runner import registry

    if course is not None and course.resolve() != registry.COURSE_ROOT:
        # Only when the CLI runs inside another program: the `kata` command reads --course before importing.
        raise click.ClickException(f"--course {course}: this process already loaded the course at "
                                   f"{registry.COURSE_ROOT}; set KATA_COURSE before starting it instead.")
    message = registry.missing_course_message()
    if message:
        raise click.ClickException(message.replace("`kata new DIR`", f"`{command('new', 'DIR')}`"))
    try:
        all_katas()
    except CourseError as exc:
        raise click.ClickException(str(exc)) from None


@cli.command("list")
@grading_options
def list_cmd(**options: Any) -> None:
    """Every kata with its state, and overall progress."""
    course = make_course(**options)
    console = make_console()
    katas = list(all_katas())
    results = course.results(katas)
    current = next((k.id for k, r in zip(katas, results) if r.verdict is not Verdict.PASS), None)
    print_list(console, katas, results, current)


@cli.command("next")
@grading_options
def next_cmd(**options: Any) -> None:
    """Show the first kata that does not pass yet: what to do and where."""
    course = make_course(**options)
    console = make_console()
    found = course.current()
    if found is None:
        console.print(f"[green]All {len(all_katas())} katas pass.[/] {escape(course_info().final)}")
        return
    kata, result = found
    print_kata_header(console, kata, kata.impl_path(course.kata_dir))
    print_check(console, kata, result, verbose=False)
    console.print(
        f"\nEdit the file, then run `{command('check', kata.id)}` (or `{command('watch')}`). "
        f"Stuck? `{command('hint', kata.id)}`."
    )


@cli.command("check")
@click.argument("kata", required=False)
@grading_options
@click.option("--json", "as_json", is_flag=True, help=HELP["json"])
@click.option("-v", "--verbose", "--all", "explain_all", is_flag=True, help=HELP["explain_all"])
def check_cmd(kata: str | None, as_json: bool, explain_all: bool, **options: Any) -> None:
    """Grade one kata (by id or slug), or every kata when none is given."""
    chosen = kata_argument(kata)
    course = make_course(**options)
    katas = [chosen] if chosen else list(all_katas())
    console = make_console()
    results = course.grade(katas)
    if as_json:
        from kata_runner import sandbox

        doc = results[0].to_exercism() if chosen else combined_exercism(results)
        doc["sandbox"] = sandbox.status() if course.grade_options.isolate else "off: --in-process"
        click.echo(json.dumps(doc, indent=2))
    else:
        for k, result in zip(katas, results):
            if not chosen:
                console.print(Prose.assemble("\n", (f"Kata {k.id}: {k.title}", "bold"),
                                            f" ({display_path(k.impl_path(course.kata_dir))})"))
            print_check(console, k, result, verbose=bool(chosen), explain_all=explain_all)
        if chosen and results[0].verdict is Verdict.PASS:
            console.print(what_next(course, chosen))
    if any(r.verdict is not Verdict.PASS for r in results):
        sys.exit(1)


def what_next(course: Course, passed: Kata) -> Prose:
    """After a pass: the next kata in course order that is not known to pass (from the cache, no grading)."""
    katas = list(all_katas())
    start = katas.index(passed) + 1
    for kata in katas[start:] + katas[: start - 1]:
        cached = course.cached(kata)
        if cached is None or cached.verdict is not Verdict.PASS:
            path = display_path(kata.impl_path(course.kata_dir))
            return Prose(f"Next: kata {kata.id}, {kata.title}. Open {path}, then run `{command('check', kata.id)}`.")
    return Prose("Every kata passes: you have finished the course. Well done!", style="green")


@cli.command("hint")
@click.argument("kata", required=False)
@_kata_dir_option
def hint_cmd(kata: str | None, **options: Any) -> None:
    """Show the next hint for a kata (default: the current one); one more each time."""
    chosen = kata_argument(kata)
    course = make_course(**options)
    console = make_console()
    if chosen is None:
        found = course.current()
        if found is None:
            raise click.ClickException(
                f"Every kata passes: there is nothing left to hint at. Name one, e.g. `{command('hint', '01')}`."
            )
        chosen = found[0]
    elif passes(course, chosen):
        console.print(Prose(f"Kata {chosen.id} already passes: no hint needed. `{command('next')}` shows what is next;"
                           f" `{command('reset', chosen.id)}` starts it over (hints included)."))
        return
    hint = next_hint(chosen)
    console.print(Prose(f"Kata {chosen.id}: {chosen.title}", style="bold"))
    for number, text in enumerate(hint.shown, start=1):
        style = "bold" if number == hint.number else "dim"
        console.print(Prose.assemble((f"Hint {number}/{len(chosen.hints)}:", style), " ", text))
    if hint.is_last:
        console.print(Prose(f"That is the last hint. Read the failures of `{command('check', chosen.id, '-v')}` "
                           "closely.", style="dim"))
    else:
        console.print(Prose(f"Run `{command('hint', chosen.id)}` again for the next one.", style="dim"))


def passes(course: Course, kata: Kata) -> bool:
    result: KataResult = course.cached(kata) or course.grade([kata])[0]
    return result.verdict is Verdict.PASS


@cli.command("reset")
@click.argument("kata")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--kata-dir", type=click.Path(file_okay=False, path_type=Path), envvar="KATA_DIR", help=HELP["kata_dir"])
def reset_cmd(kata: str, yes: bool, kata_dir: Path | None) -> None:
    """Restore a kata's pristine stub (your version is backed up first)."""
    chosen = kata_argument(kata)
    assert chosen is not None
    directory = resolve_kata_dir(kata_dir, solutions=False)
    if directory == SOLUTIONS_DIR.resolve():
        raise click.ClickException("reset restores stubs; it never overwrites the reference solutions.")
    path = display_path(chosen.impl_path(directory))
    console = make_console()
    if not yes and not click.confirm(
        f"Replace {path} with the original stub? Your version is backed up first.", default=False
    ):
        again = command("reset", chosen.id, "--yes")
        console.print(Prose(f"Nothing was reset. To reset without a prompt run `{again}`."))
        return
    outcome = reset(chosen, directory)
    if not outcome.changed:
        console.print(Prose(f"{path} is already the original stub; nothing to do."))
        return
    if outcome.backup:
        console.print(Prose(f"Saved your version to {display_path(outcome.backup)}"))
    console.print(Prose(f"Restored {path} to the original stub; its hints start again from the first."))


@cli.command("watch")
@grading_options
def watch_cmd(**options: Any) -> None:
    """Re-check the current kata each time a file under the kata folder is saved."""
    from kata_runner.watch import watch

    course = make_course(**options)
    keys = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else None
    watch(course, make_console(), keys=keys)


@cli.command("verify")
@click.option(
    "--kata-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of solutions to verify, e.g. a private one kept outside the course (default: solutions/).",
)
@click.option("--device", "devices", multiple=True, type=click.Choice(["cpu", "cuda"]), help=HELP["device"])
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help=HELP["jobs"])
@click.option(
    "--refresh-stubs", is_flag=True, help="Record the current katas/ stubs as the copies `kata reset` restores."
)
@click.option("--no-variants", is_flag=True, help="Skip grading the correct_*.py and mistake_*.py variants (faster).")
def verify_cmd(kata_dir: Path | None, devices: tuple[str, ...], jobs: int | None, refresh_stubs: bool,
               no_variants: bool) -> None:
    """Author check: every kata is complete, every solution passes, every stub is "not started", every correct
    variant passes and every mistake variant fails saying its EXPECT phrase."""
    from kata_runner.course import snapshot_pristine_stubs
    from kata_runner.verify import verify

    console = make_console()
    if refresh_stubs:
        console.print(f"Recorded the stubs in {display_path(snapshot_pristine_stubs())}")
    solutions = resolve_kata_dir(kata_dir, solutions=kata_dir is None)
    rows = verify(solutions, tuple(dict.fromkeys(devices)), jobs or os.cpu_count() or 1, variants=not no_variants)
    for row in rows:
        solution = row.solution.verdict.label if row.solution else "-"
        stub = row.stub.verdict.label if row.stub else "-"
        mark = "[green]     ok[/]" if row.ok else "[red]PROBLEM[/]"
        console.print(f"{mark} {row.kata.name:<24} solution: {solution:<12} stub: {stub}")
        for problem in row.problems:
            console.print(f"        - {escape(problem)}")
    bad = [row for row in rows if not row.ok]
    if bad:
        raise click.ClickException(f"{len(bad)} of {len(rows)} katas have problems (listed above).")
    checked = "" if no_variants else f" and {sum(len(row.variants) for row in rows)} variants"
    console.print(f"[green]All {len(rows)} katas verified[/] against {display_path(solutions)}{checked}.")


@cli.command("new")
@click.argument("course_dir", type=click.Path(file_okay=False, path_type=Path))
def new_cmd(course_dir: Path) -> None:
    """Author tool: scaffold a new course in COURSE_DIR (new or empty), with one example kata."""
    from kata_runner.scaffold import ScaffoldError, new_course

    try:
        made = new_course(course_dir)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    console = make_console()
    console.print(Prose(f"Created the course {made.name} in {display_path(made.root)} ({len(made.files)} files)."))
    console.print(Prose(f"Next: cd {display_path(made.root)}, then `{command('list')}`, `{command('check', '01')}`, "
                        f"`{command('verify')}`; `{command('add', 'SLUG')}` adds a kata. torch-katas' "
                        "docs/authoring.md explains how to write checks."))


@cli.command("add")
@click.argument("slug")
@click.option("--title", default=None, help="The kata's title (default: made from the slug).")
def add_cmd(slug: str, title: str | None) -> None:
    """Author tool: add a kata skeleton (registry entry, stub, checks, solution, variants) to this course."""
    from kata_runner.registry import PROJECT_ROOT
    from kata_runner.scaffold import ScaffoldError, add_kata

    try:
        added = add_kata(PROJECT_ROOT, slug, title)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    console = make_console()
    console.print(Prose(f"Added kata {added.id} ({added.slug}) to {display_path(PROJECT_ROOT / 'course.toml')}:"))
    for path in added.files:
        console.print(Prose(f"  {display_path(path)}"))
    console.print(Prose(f"Fill in the TODOs, then run `{command('verify', '--refresh-stubs')}`."))


@cli.command("grade")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grades"), show_default=True,
              help="Folder the gradebook and reports are written to.")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS), default=("csv",), show_default=True,
              help="Output format; repeat for several (csv, exercism, gradescope, junit).")
@click.option("--single", is_flag=True, help="SUBMISSIONS is itself one submission (as on Gradescope).")
@click.option("--fresh", is_flag=True, help="Ignore the cache and grade every submission again.")
@limit_options
def grade_cmd(submissions: Path, out: Path, formats: tuple[str, ...], single: bool, fresh: bool,
              jobs: int | None, **limits: Any) -> None:
    """Grade a class: every sub-folder of SUBMISSIONS is one student's NN_slug.py files."""
    from kata_runner.classroom import collect, discover, grade_class, skipped_report, write_skipped
    from kata_runner.exporters import write_exports
    from kata_runner.plugin import available_devices

    found = [collect(submissions)] if single else discover(submissions)
    if not found:
        raise click.ClickException(f"{submissions} has no sub-folders: put each submission in its own folder, "
                                   "or pass --single to grade the folder itself.")
    # A class is graded on the devices this machine has: listing every spec once more as "skipped" in
    # every report of every student would only add noise (and time) to the gradebook.
    options = make_grade_options(limits.pop("devices") or available_devices(), **limits)
    out = out.resolve()
    cache_file = None if fresh else out / ".grade-cache.json"
    console = make_console(stderr=True)
    skipped = skipped_report(submissions, found, single)
    for line in skipped:
        console.print(Prose(f"Skipped {line}"))
    console.print(Prose(sandbox_line()))
    total = len(found) * len(all_katas())
    with progress_reporter(console, total, f"Grading {len(found)} submission(s)") as advance:
        grade_class(found, cache_file, options, jobs or os.cpu_count() or 1, on_result=advance)
    written = [*write_exports(found, out, list(formats), single=single), write_skipped(out, skipped)]
    cached = sum(s.from_cache for s in found)
    console.print(f"Graded {len(found)} submission(s) ({cached} unchanged, from the cache) into {display_path(out)}"
                  f" ({len(written)} file(s)).")


def sandbox_line() -> str:
    from kata_runner import sandbox

    status = sandbox.status()
    if status == sandbox.ON:
        return "Sandbox: on (each submission's code runs confined; see the README's threat model)."
    return (f"Sandbox: {status.replace(':', ' (', 1)}{')' if ':' in status else ''}. Submissions' code runs without "
            "the full sandbox: see the README's threat model before trusting these grades.")


@cli.group("export")
def export_group() -> None:
    """Package the course for a grading platform."""


@export_group.command("gradescope")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where to write the autograder zip.")
def export_gradescope_cmd(out: Path) -> None:
    """Build the autograder zip Gradescope expects (setup.sh, run_autograder, the harness and checks)."""
    from kata_runner.gradescope import build_autograder_zip

    path = build_autograder_zip(out)
    make_console().print(f"Wrote {display_path(path)}: upload it as the assignment's autograder on Gradescope.")


@export_group.command("classroom")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path(".github/workflows/classroom.yml"),
              show_default=True, help="Where to write the workflow.")
def export_classroom_cmd(out: Path) -> None:
    """Write the GitHub Classroom autograding workflow: a step per kata, worth its weight in course.toml."""
    from kata_runner.github_classroom import PointsError, workflow_yaml
    from kata_runner.storage import atomic_write_text

    try:
        atomic_write_text(out, workflow_yaml())
    except PointsError as exc:
        raise click.ClickException(str(exc)) from exc
    make_console().print(f"Wrote {display_path(out)}: commit it to the assignment's template repository.")


@cli.command("selftest", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def selftest_cmd(pytest_args: tuple[str, ...]) -> None:
    """Run the project's own checks: ruff, mypy, kata verify, the mutation gate, then the test suite (extra
    arguments go to pytest)."""
    import subprocess

    from kata_runner.registry import PROJECT_ROOT

    steps = [
        ["-m", "ruff", "check", "."],
        ["-m", "mypy"],
        # The variants are graded by tests/test_variants.py below (which also proves every spec has teeth).
        ["-m", "kata_runner", "verify", "--no-variants"],
        # The whole gate: ~700 mutants, about 3 minutes on two cores.
        ["bench/mutation.py"],
        # `tests` by name: pyproject's testpaths is checks/, for the learner's IDE.
        ["-m", "pytest", "tests", *(pytest_args or ["-q", "-n", "auto"])],
    ]
    for step in steps:
        click.echo(f"$ python {' '.join(step)}", err=True)
        code = subprocess.call([sys.executable, *step], cwd=PROJECT_ROOT)
        if code != 0:
            raise SystemExit(code)


def main() -> None:
    """The `kata` command (the console script and `python -m kata_runner`). It ends the process without tearing
    the interpreter down: unloading torch takes 0.2 to 0.4 s that a finished command has no use for."""
    try:
        cli(prog_name="kata")
        code: Any = 0
    except (NoCourse, CourseError) as exc:  # found deeper than the group's check, e.g. a course.toml edited meanwhile
        click.ClickException(str(exc)).show()
        code = 1
    except KeyboardInterrupt:  # pragma: no cover
        code = 130
    except SystemExit as exc:  # how click ends every command
        code = exc.code
    exit_now(code)


def exit_now(code: Any) -> None:
    """What sys.exit(code) does, less the interpreter's teardown: exit handlers run and output is flushed."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`kata list | head`): nothing more can be said
            status = status or 1
    os._exit(status & 0xFF)


if __name__ == "__main__":
    main()
