"""First-run set-up for `python3 -m kata_runner`: a project virtual environment in .venv; and the choice of
course (`--course DIR`), which has to be made before the rest of the engine is imported.

Standard library only, because it runs before anything is installed. In a source checkout of the
engine (a clone of torch-katas: pyproject.toml next to the package) it creates .venv once,
installs the project into it (again only when pyproject.toml changes), then re-runs the command
with .venv's Python. A local torch wheel (pip's configured --find-links) is preferred over a
multi-GB download, which is what a plain `pip install torch` fetches on Linux.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / "torch-katas.stamp"
LOG = VENV / "setup.log"


def select_course(argv: list[str]) -> None:
    """`kata --course DIR ...`: export DIR as $KATA_COURSE for registry.py, which finds the course once, on
    import. Only the options before the command are the group's; a bad DIR is reported by the CLI."""
    args = iter(argv)
    for arg in args:
        if arg == "--course":
            value = next(args, None)
        elif arg.startswith("--course="):
            value = arg.partition("=")[2]
        elif arg.startswith("-"):
            continue
        else:
            return  # the command: what follows is its own
        if value:
            os.environ["KATA_COURSE"] = os.path.abspath(os.path.expanduser(value))


def kata_main() -> None:
    """The `kata` command's entry point."""
    select_course(sys.argv[1:])
    from kata_runner.cli import main

    main()


def is_source_checkout() -> bool:
    return (ROOT / "pyproject.toml").is_file() and (ROOT / "kata_runner").is_dir()


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    h = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    h.update(sys.version.split()[0].encode())
    return h.hexdigest()


def _say(message: str) -> None:
    print(f"[torch-katas] {message}", file=sys.stderr, flush=True)


def _run(args: list[str], log, check: bool = True) -> bool:  # type: ignore[no-untyped-def]
    log.write(f"$ {' '.join(args)}\n")
    log.flush()
    done = subprocess.run(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
    if check and done.returncode != 0:
        log.close()
        tail = "\n".join(LOG.read_text(errors="replace").splitlines()[-15:])
        _say(f"set-up failed while running: {' '.join(args)}\n{tail}\n")
        _say(f"The full log is in {LOG}. Fix the problem above (network, disk space), then run the same command again.")
        sys.exit(1)
    return done.returncode == 0


def install() -> None:
    python = str(venv_python())
    with open(LOG, "a", encoding="utf-8") as log:
        has_torch = _run(
            [python, "-c", "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is None)"], log, check=False
        )
        if not has_torch:
            _say("installing torch (a local wheel if pip can find one, else a download)...")
            _run([python, "-m", "pip", "install", "--no-index", "--no-deps", "torch>=2.3"], log, check=False)
        _say("installing torch-katas and its dependencies...")
        _run([python, "-m", "pip", "install", "-e", ".[dev]"], log)
    STAMP.write_text(_wanted_stamp())


def ensure_environment() -> None:
    """Make sure .venv is set up, then continue inside it (re-executing this command if needed). An engine
    installed with pip (no pyproject.toml next to the package) needs no set-up."""
    select_course(sys.argv[1:])
    if os.environ.get("KATA_NO_BOOTSTRAP") or not is_source_checkout():
        return
    if sys.version_info < (3, 10):  # noqa: UP036 - this module runs on whatever python3 the learner has
        sys.exit("torch-katas needs Python 3.10 or newer; run it with python3.10+.")
    inside = Path(sys.prefix).resolve() == VENV.resolve()
    up_to_date = STAMP.exists() and STAMP.read_text().strip() == _wanted_stamp()
    if inside and up_to_date:
        return
    if not venv_python().exists():
        _say(f"first run: creating {VENV} (takes a minute or two, once)...")
        done = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False)
        if done.returncode != 0:
            sys.exit("Could not create .venv. On Debian/Ubuntu install the venv module: apt install python3-venv.")
    if not up_to_date:
        install()
        _say("set-up complete.")
    if inside:
        return
    args = [str(venv_python()), "-m", "kata_runner", *sys.argv[1:]]
    if os.name == "nt":  # pragma: no cover - no exec on Windows
        sys.exit(subprocess.call(args))
    os.execv(args[0], args)
