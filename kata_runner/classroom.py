"""Grading a whole class: collect each submission's files (regular files only, copied into a private folder
before any submission's code runs), grade every (submission, kata) pair in its own forked child, in
parallel, and remember each result as it arrives, so that an unchanged file is never graded twice and a
killed run resumes where it stopped.

Which file is graded (also in the README): every sub-folder of a submission is searched, except hidden ones
(`.git`, `.kata`, ...), `__pycache__`-like ones, and reference code (`solutions`, `solution`, `reference`,
`references`); of the files named like a kata, one inside a `katas` folder is preferred, then the shallowest,
then the first by path. Only a regular file of at most MAX_FILE_BYTES is taken: a link (even to another
student's file), a folder, a pipe or a device named like a kata is an error for that kata, never opened.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from kata_runner import sandbox
from kata_runner.cache import GradeJournal, file_digest, harness_fingerprint
from kata_runner.registry import Kata, all_katas
from kata_runner.results import KataResult, Verdict
from kata_runner.storage import atomic_write_text

MAX_FILE_BYTES = 2**20
REFERENCE_FOLDERS = frozenset({"solutions", "solution", "reference", "references"})
PREFERRED_FOLDER = "katas"
MAX_DEPTH = 12
MAX_ENTRIES = 20_000  # per submission: a folder of a million files must not stall the run
SKIPPED_FILE = "skipped.txt"


@dataclass
class Submission:
    name: str
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)  # kata name -> the file graded
    problems: dict[str, str] = field(default_factory=dict)  # kata name -> why its file cannot be graded
    skipped: list[str] = field(default_factory=list)  # what inside the folder was not searched, and why
    results: list[KataResult] = field(default_factory=list)
    from_cache: bool = False

    @property
    def score(self) -> float:
        weights = {k.id: k.weight for k in all_katas()}
        return sum(weights[r.kata_id] * r.score for r in self.results)


def max_score() -> float:
    return sum(k.weight for k in all_katas())


# ------------------------------------------------------------------------------ collecting


def _not_searched(name: str) -> str | None:
    """Why a folder of a submission is not searched; None when it is."""
    if name.startswith("."):
        return "hidden folder, not searched"
    if name.startswith("__"):
        return "Python's or an archiver's own folder, not searched"
    if name.lower() in REFERENCE_FOLDERS:
        return "reference code, never graded as the student's work"
    return None


def _problem(path: Path) -> str | None:
    """Why the entry at `path` cannot be graded as a kata file; None for a regular file of a sane size."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"could not be read ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link: submit the file itself, not a link to it"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a pipe, socket or device)"
    if info.st_size > MAX_FILE_BYTES:
        return f"is {info.st_size} bytes, over the {MAX_FILE_BYTES // 1024} KiB limit for a kata file"
    return None


@dataclass(frozen=True)
class _Candidate:
    path: Path
    relative: PurePath
    problem: str | None

    @property
    def rank(self) -> tuple[bool, int, str]:
        return PREFERRED_FOLDER not in self.relative.parts[:-1], len(self.relative.parts), str(self.relative)


def collect(folder: Path, name: str | None = None) -> Submission:
    """One submission: each kata's file, by the rule in this module's docstring. Follows no link."""
    wanted = {k.filename: k.name for k in all_katas()}
    candidates: dict[str, list[_Candidate]] = {}
    skipped: list[str] = []
    seen = 0
    todo: list[tuple[Path, PurePath]] = [(folder, PurePath())]
    while todo:
        directory, relative = todo.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(f"{relative}/: could not be read ({exc.strerror})")
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                skipped.append(f"everything after the first {MAX_ENTRIES} entries: not searched")
                todo.clear()
                break
            inner = relative / entry.name
            if entry.name in wanted:
                found = _Candidate(Path(entry.path), inner, _problem(Path(entry.path)))
                candidates.setdefault(wanted[entry.name], []).append(found)
            try:
                is_folder = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_folder = False
            if not is_folder:
                continue
            why = _not_searched(entry.name)
            if why is None and len(inner.parts) >= MAX_DEPTH:
                why = f"deeper than {MAX_DEPTH} folders, not searched"
            if why:
                skipped.append(f"{inner}/: {why}")
            else:
                todo.append((Path(entry.path), inner))
    submission = Submission(name or folder.name, folder, skipped=sorted(skipped))
    for kata_name, found_all in candidates.items():
        ranked = sorted(found_all, key=lambda c: c.rank)
        good = [c for c in ranked if c.problem is None]
        if good:
            submission.files[kata_name] = good[0].path
        else:
            submission.problems[kata_name] = f"{ranked[0].relative} {ranked[0].problem}."
    return submission


def _top_level(submissions_dir: Path) -> tuple[list[os.DirEntry[str]], list[str]]:
    """The sub-folders that are submissions, and a line for each other entry saying why it is not one."""
    folders: list[os.DirEntry[str]] = []
    skipped: list[str] = []
    with os.scandir(submissions_dir) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith((".", "_")):
            skipped.append(f"{entry.name}: names starting with '.' or '_' are not submissions")
        elif entry.is_symlink():
            skipped.append(f"{entry.name}: a symbolic link, not followed (copy the folder in instead)")
        elif not entry.is_dir(follow_symlinks=False):
            skipped.append(f"{entry.name}: not a folder")
        else:
            folders.append(entry)
    return folders, skipped


def discover(submissions_dir: Path) -> list[Submission]:
    return [collect(Path(e.path), e.name) for e in _top_level(submissions_dir)[0]]


def skipped_report(submissions_dir: Path, submissions: list[Submission], single: bool = False) -> list[str]:
    """One line per entry that was not graded: top-level entries that are not submissions, then the folders
    not searched inside each submission."""
    lines = [] if single else _top_level(submissions_dir)[1]
    for submission in submissions:
        prefix = "" if single else f"{submission.name}/"
        lines += [f"{prefix}{line}" for line in submission.skipped]
    return lines


def write_skipped(out: Path, lines: list[str]) -> Path:
    """The skipped entries next to the gradebook, so that nobody wonders where a folder went."""
    path = out / SKIPPED_FILE
    atomic_write_text(path, "".join(f"{line}\n" for line in lines) if lines else "Nothing was skipped.\n")
    return path


# ------------------------------------------------------------------------------ copying


class UnreadableSubmission(ValueError):
    pass


def read_submitted(path: Path) -> bytes:
    """The bytes of a submitted file: never through a link, never blocking on a pipe, never past the size cap."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableSubmission("is a symbolic link: submit the file itself, not a link to it") from None
        raise UnreadableSubmission(f"could not be read ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnreadableSubmission("is not a regular file")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise UnreadableSubmission(f"is over the {MAX_FILE_BYTES // 1024} KiB limit for a kata file")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableSubmission(f"could not be read ({exc.strerror})") from None
    finally:
        os.close(fd)


@dataclass
class _Job:
    submission: Submission
    kata: Kata
    folder: Path  # the private copy's folder: what the judge grades
    digest: str
    slot: str
    key: str
    result: KataResult | None = None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _key(kata: Kata, content: str, devices: tuple[str, ...]) -> str:
    """Changes when the graded content, the kata's checks, the devices or the harness change."""
    parts = [harness_fingerprint(), ",".join(devices), file_digest(kata.check_path), content]
    return _digest("\0".join(parts).encode())


def _known(kata: Kata, submission: Submission, verdict: Verdict, message: str) -> KataResult:
    return KataResult(kata.id, kata.name, str(submission.folder), verdict, message)


def _stage(submission: Submission, kata: Kata, root: Path) -> tuple[str, KataResult | Path]:
    """Copy the kata's file into a private folder under `root`: (content digest, that folder), or (a marker,
    the result) for a kata without a file that can be graded."""
    path = submission.files.get(kata.name)
    problem = submission.problems.get(kata.name)
    if path is None and problem is None:
        return "<missing>", _known(kata, submission, Verdict.NOT_STARTED, f"{kata.filename} was not submitted.")
    if path is not None:
        try:
            data = read_submitted(path)
        except UnreadableSubmission as exc:
            problem = f"{path.relative_to(submission.folder)} {exc}."
        else:
            folder = root / kata.name
            folder.mkdir(parents=True)
            (folder / kata.filename).write_bytes(data)
            return _digest(data), folder
    return f"<problem>{problem}", _known(kata, submission, Verdict.ERROR, str(problem))


def _changed(job: _Job) -> bool:
    try:
        return _digest((job.folder / job.kata.filename).read_bytes()) != job.digest
    except OSError:
        return True


def grade_class(
    submissions: list[Submission],
    cache_file: Path | None,
    options: object,
    jobs: int,
    on_result: Callable[[], None] | None = None,
) -> list[Submission]:
    """Fill in each submission's results: from the journal where nothing changed, graded otherwise. Returns
    once every grading process, and everything they started, is dead."""
    from kata_runner.grader import NOT_GRADED, GradeOptions, grade_many

    assert isinstance(options, GradeOptions)
    progress = on_result or (lambda: None)
    journal = GradeJournal(cache_file)  # read now, before any submission's code has run
    hidden = {s.folder.resolve().parent for s in submissions} | ({cache_file.resolve().parent} if cache_file else set())
    with tempfile.TemporaryDirectory(prefix="kata-grade-", ignore_cleanup_errors=True) as private, \
            sandbox.hiding(hidden):
        pending: list[_Job] = []
        for number, submission in enumerate(submissions):
            submission.results, submission.from_cache = [], True
            for kata in all_katas():
                content, staged = _stage(submission, kata, Path(private) / str(number))
                slot, key = f"{submission.name}/{kata.name}", _key(kata, content, options.devices)
                cached = journal.get(slot, key)
                if cached is not None:
                    submission.results.append(cached)
                    progress()
                    continue
                submission.from_cache = False
                if isinstance(staged, KataResult):
                    submission.results.append(staged)
                    journal.put(slot, key, staged)
                    progress()
                else:
                    pending.append(_Job(submission, kata, staged, content, slot, key))

        def arrived(index: int, result: KataResult) -> None:
            job = pending[index]
            if _changed(job):
                result = KataResult(
                    job.kata.id, job.kata.name, result.kata_dir, Verdict.ERROR,
                    f"{NOT_GRADED}the private copy of this file was changed during the run, by code other than "
                    "the grader's; grade this submission again.",
                )
            elif result.verdict.cacheable and not result.message.startswith(NOT_GRADED):
                journal.put(job.slot, job.key, result)
            job.result = result
            progress()

        grade_many([(job.kata, job.folder) for job in pending], options, max_parallel=jobs, on_result=arrived)
    for job in pending:
        assert job.result is not None
        job.submission.results.append(job.result)
    order = {k.id: k.order for k in all_katas()}
    for submission in submissions:
        submission.results.sort(key=lambda r: order[r.kata_id])
    journal.compact()  # every grading process is dead by now: nothing can append behind it
    return submissions
