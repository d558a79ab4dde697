"""Grading a whole class: every (submission, kata) pair in its own forked child, in parallel, with
a cache that skips submissions whose files, checks and harness are unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kata_runner.cache import harness_fingerprint
from kata_runner.registry import Kata, all_katas
from kata_runner.results import KataResult, Verdict
from kata_runner.storage import read_json, write_json


@dataclass
class Submission:
    name: str
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)  # kata name -> implementation file
    results: list[KataResult] = field(default_factory=list)
    from_cache: bool = False

    @property
    def score(self) -> float:
        weights = {k.id: k.weight for k in all_katas()}
        return sum(weights[r.kata_id] * r.score for r in self.results)


def max_score() -> float:
    return sum(k.weight for k in all_katas())


def find_files(folder: Path) -> dict[str, Path]:
    """Each kata's file in a submission, wherever it sits (students upload nested folders)."""
    found: dict[str, Path] = {}
    wanted = {k.filename: k.name for k in all_katas()}
    for path in sorted(folder.rglob("*.py"), key=lambda p: (len(p.parts), str(p))):
        if path.name in wanted and wanted[path.name] not in found and not _hidden(path, folder):
            found[wanted[path.name]] = path
    return found


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "__")) for part in path.relative_to(root).parts[:-1])


def discover(submissions_dir: Path) -> list[Submission]:
    folders = sorted(p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    return [Submission(p.name, p, find_files(p)) for p in folders]


def submission_key(submission: Submission, devices: tuple[str, ...]) -> str:
    h = hashlib.sha256(harness_fingerprint().encode())
    h.update(",".join(devices).encode())
    for kata in all_katas():
        h.update(kata.check_path.read_bytes())
        path = submission.files.get(kata.name)
        h.update(path.read_bytes() if path else b"<missing>")
    return h.hexdigest()


def _missing(kata: Kata, folder: Path) -> KataResult:
    return KataResult(kata.id, kata.name, str(folder), Verdict.NOT_STARTED, f"{kata.filename} was not submitted.")


def grade_class(
    submissions: list[Submission],
    cache_file: Path | None,
    options: object,
    jobs: int,
    on_result: Callable[[], None] | None = None,
) -> list[Submission]:
    """Fill in each submission's results, from the cache where nothing changed."""
    from kata_runner.grader import GradeOptions, grade_many

    assert isinstance(options, GradeOptions)
    cache = read_json(cache_file) if cache_file else {}
    keys = {s.name: submission_key(s, options.devices) for s in submissions}
    pairs: list[tuple[Submission, Kata, Path]] = []
    for submission in submissions:
        entry = cache.get(submission.name)
        if entry and entry.get("key") == keys[submission.name]:
            submission.results = [KataResult.from_dict(r) for r in entry["results"]]
            submission.from_cache = True
            for _ in submission.results:
                if on_result:
                    on_result()
            continue
        for kata in all_katas():
            path = submission.files.get(kata.name)
            if path is None:
                submission.results.append(_missing(kata, submission.folder))
                if on_result:
                    on_result()
            else:
                pairs.append((submission, kata, path.parent))
    graded = grade_many(
        [(kata, folder) for _, kata, folder in pairs],
        options,
        max_parallel=jobs,
        on_result=(lambda i, r: on_result()) if on_result else None,
    )
    for (submission, _, _), result in zip(pairs, graded):
        submission.results.append(result)
    order = {k.id: k.order for k in all_katas()}
    for submission in submissions:
        submission.results.sort(key=lambda r: order[r.kata_id])
        if all(r.verdict.cacheable for r in submission.results):
            results = [r.to_dict() for r in submission.results]
            cache[submission.name] = {"key": keys[submission.name], "results": results}
    if cache_file:
        write_json(cache_file, cache)
    return submissions

