"""Mutation-testing gate: do the checks catch small mistakes in the reference solutions?

    .venv/bin/python bench/mutation.py [--kata 01 ...] [--sample N] [--jobs J] [--timeout S]
                                       [--json FILE] [--list]

For each selected kata (default: all), every mutant of `solutions/NN_slug.py` is generated, written
to its own temporary folder and graded by `kata_runner.grader.grade_many` on CPU (each mutant a
fork of one warm pytest session). A mutant is *killed* when its verdict is anything but pass.

Mutants come from cosmic-ray's default operator set (its core operators that take no arguments:
binary, comparison and unary operators, booleans, numbers, break/continue, exceptions,
decorators, zero-iteration loops) plus the operators of bench/mutation_operators.py (string
literals, keyword arguments, deleted statements, `.detach()`-like calls, with-contexts, return
values, swapped arguments). Mutants inside docstrings and type annotations are not generated
(annotations are never evaluated under `from __future__ import annotations`: such mutants are
equivalent by construction); mutants that do not compile, that duplicate another mutant's source
or that equal the original are dropped and counted.

Equivalent mutants (those no spec could ever kill) are listed, with a reason, in
bench/equivalent_mutants.toml; a survivor listed there counts as equivalent. Listed entries that
match no mutant any more are reported as stale.

Output: one row per kata (operators used, mutants made, killed, survived, equivalent, score =
killed / (made - equivalent)), then each survivor as `kata | operator | line N: before -> after
[id]`. The exit code is 0 only when every selected kata kills 100% of its non-equivalent mutants
(1 otherwise, 2 for a usage error or an invalid equivalence file).

Options:
  --kata K       a kata id or slug; repeat for several (default: every kata)
  --sample N     grade a fixed sample of N mutants per kata: random.Random(0).sample over the mutants
                 in generation order (operator by operator, then position in the file). The same
                 solution file always gives the same sample; editing the solution may change it.
  --jobs J       mutants graded side by side (default: the number of cores)
  --timeout S    wall-clock seconds per mutant (default 30): an endless loop is killed as a timeout
  --json FILE    also write the results as JSON
  --list         only print the mutants (after --sample), without grading anything
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import sys
import tempfile
import time
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cosmic_ray.plugins  # noqa: E402
from cosmic_ray.ast import ast_nodes, get_ast  # noqa: E402
from cosmic_ray.mutating import mutate_code  # noqa: E402
from cosmic_ray.operators.operator import Operator  # noqa: E402
from mutation_operators import EXTRA_OPERATORS  # noqa: E402
from parso.tree import NodeOrLeaf  # noqa: E402

from kata_runner.registry import Kata, all_katas, find_kata  # noqa: E402

if TYPE_CHECKING:
    from kata_runner.results import KataResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EQUIVALENTS_FILE = Path(__file__).resolve().with_name("equivalent_mutants.toml")
DEFAULT_TIMEOUT = 30.0
# cosmic-ray's ExceptionReplacer names this class; define it so the mutant's handler is merely unreachable.
TESTING_EXCEPTION = "CosmicRayTestingException"


# ---------------------------------------------------------------------------------------------
# Operators
# ---------------------------------------------------------------------------------------------


def core_operators() -> dict[str, Operator]:
    """cosmic-ray's default set: every core operator that takes no arguments (as `cosmic-ray init`)."""
    operators = {}
    for name in cosmic_ray.plugins.operator_names():
        operator_class = cosmic_ray.plugins.get_operator(name)
        if name.startswith("core/") and not operator_class.arguments():
            operators[name] = operator_class()
    return operators


def all_operators() -> dict[str, Operator]:
    return {**core_operators(), **{name: cls() for name, cls in EXTRA_OPERATORS.items()}}


# ---------------------------------------------------------------------------------------------
# Mutants
# ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Source text with every run of whitespace made one space: stable under re-indentation."""
    return " ".join(text.split())


@dataclass
class Mutant:
    kata: str  # kata id, "01"
    operator: str
    occurrence: int  # cosmic-ray's occurrence index of this operator in the file
    line: int  # first changed line, 1-based
    before: str  # the changed lines, normalised
    after: str
    source: str = field(repr=False)
    repeat: int = 0  # index among this kata's mutants with the same (operator, before, after)

    @property
    def id(self) -> str:
        """A stable identity: it survives edits elsewhere in the file (unlike the line number)."""
        key = "|".join((self.kata, self.operator, self.before, self.after, str(self.repeat)))
        return hashlib.sha1(key.encode()).hexdigest()[:10]

    def describe(self) -> str:
        after = self.after or "(deleted)"
        return f"{self.kata} | {self.operator} | line {self.line}: {self.before} -> {after}  [{self.id}]"


@dataclass
class Generation:
    mutants: list[Mutant] = field(default_factory=list)
    skipped: int = 0  # inside a docstring or a type annotation: not generated
    invalid: int = 0  # did not compile
    duplicates: int = 0  # the same source as an earlier mutant
    unchanged: int = 0  # the same source as the original


def excluded_nodes(tree: NodeOrLeaf) -> set[int]:
    """ids of the docstring leaves and annotation subtrees of a parso tree."""
    excluded = set()
    for node in ast_nodes(tree):
        if node.type in ("file_input", "classdef", "funcdef"):
            doc = node.get_doc_node()
            if doc is not None:
                excluded.add(id(doc))
        if node.type in ("funcdef", "param") and node.annotation is not None:
            excluded.add(id(node.annotation))
        if node.type == "annassign":
            excluded.add(id(node.children[1]))
    return excluded


def is_excluded(node: NodeOrLeaf | None, excluded: set[int]) -> bool:
    while node is not None:
        if id(node) in excluded:
            return True
        node = node.parent
    return False


def code_lines(source: str) -> list[str]:
    """The lines of `source` with their comments cut off (a mutant's identity ignores comments)."""
    lines = source.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return lines
    for token in reversed(tokens):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column].rstrip()
    return lines


def changed_lines(original: str, mutated: str) -> tuple[int, str, str]:
    """(first changed line, original code, mutated code) of the one region where the two differ."""
    a, b = code_lines(original), code_lines(mutated)
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    before, after = a[head : len(a) - tail], b[head : len(b) - tail]
    return head + 1, normalise(" ".join(before)), normalise(" ".join(after))


def compiles(source: str) -> bool:
    try:
        compile(source, "<mutant>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def generate(kata: Kata, source: str, operators: dict[str, Operator]) -> Generation:
    """Every mutant of `source`, operator by operator, in cosmic-ray's occurrence order."""
    result = Generation()
    tree = get_ast(source)
    nodes = list(ast_nodes(tree))
    excluded = excluded_nodes(tree)
    seen = {source}
    repeats: Counter[tuple[str, str, str]] = Counter()
    for name, operator in operators.items():
        positions = [node for node in nodes for _ in operator.mutation_positions(node)]
        for occurrence, node in enumerate(positions):
            if is_excluded(node, excluded):
                result.skipped += 1
                continue
            mutated = mutate_code(source, operator, occurrence)
            if mutated is None or mutated == source:
                result.unchanged += 1
            elif mutated in seen:
                result.duplicates += 1
            elif not compiles(mutated):
                result.invalid += 1
            else:
                seen.add(mutated)
                line, before, after = changed_lines(source, mutated)
                repeat = repeats[name, before, after]
                repeats[name, before, after] += 1
                result.mutants.append(Mutant(kata.id, name, occurrence, line, before, after, mutated, repeat))
    return result


def sample(mutants: list[Mutant], size: int | None) -> list[Mutant]:
    """A fixed sample of `size` mutants (random.Random(0)), kept in generation order."""
    if size is None or size >= len(mutants):
        return mutants
    chosen = sorted(random.Random(0).sample(range(len(mutants)), size))
    return [mutants[i] for i in chosen]


# ---------------------------------------------------------------------------------------------
# Equivalent mutants
# ---------------------------------------------------------------------------------------------


class EquivalenceFileError(ValueError):
    pass


@dataclass(frozen=True)
class Equivalent:
    kata: str
    reason: str
    operator: str | None = None
    before: str | None = None
    after: str | None = None
    repeat: int | None = None
    id: str | None = None

    def matches(self, mutant: Mutant) -> bool:
        if self.kata != mutant.kata:
            return False
        if self.id is not None:
            return self.id == mutant.id
        return (
            self.operator == mutant.operator
            and normalise(self.before or "") == mutant.before
            and normalise(self.after or "") == mutant.after
            and self.repeat in (None, mutant.repeat)
        )

    def describe(self) -> str:
        what = f"[{self.id}]" if self.id else f"{self.operator}: {self.before} -> {self.after}"
        return f"{self.kata} | {what} ({self.reason})"


def _equivalent(entry: dict, number: int) -> Equivalent:
    where = f"entry {number}"
    known = {"kata", "reason", "operator", "before", "after", "repeat", "id"}
    if set(entry) - known:
        raise EquivalenceFileError(f"{where}: unknown keys {sorted(set(entry) - known)}")
    if not str(entry.get("reason", "")).strip():
        raise EquivalenceFileError(f"{where}: every entry needs a one-line `reason`")
    if "kata" not in entry:
        raise EquivalenceFileError(f"{where}: `kata` is missing")
    if "id" not in entry and not {"operator", "before", "after"} <= set(entry):
        raise EquivalenceFileError(f"{where}: give either `id`, or `operator`, `before` and `after`")
    try:
        kata = find_kata(str(entry["kata"])).id
    except LookupError as error:
        raise EquivalenceFileError(f"{where}: {error}") from None
    return Equivalent(**{**entry, "kata": kata})


def load_equivalents(path: Path = EQUIVALENTS_FILE) -> list[Equivalent]:
    """The reviewed equivalent mutants: [[equivalent]] tables (see the file's header)."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise EquivalenceFileError(f"{path.name}: {error}") from None
    return [_equivalent(entry, number) for number, entry in enumerate(data.get("equivalent", []), start=1)]


# ---------------------------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Graded:
    verdict: str  # a kata_runner Verdict value: "pass", "fail", "error", "timeout", ...
    message: str


def result_summary(result: KataResult) -> str:
    """The grader's message, and the first line of the first failing spec's message."""
    failing = result.first_failure
    first = ""
    if failing is not None and failing.message.strip():
        first = f"first failure: {failing.name}: {failing.message.strip().splitlines()[0]}"
    return "; ".join(part for part in (result.message.strip().rstrip("."), first) if part)


def broken_reason(original: Graded) -> str:
    detail = " ".join(original.message.split())[:300]
    return f"the solution's verdict is {original.verdict}" + (f" ({detail})" if detail else "")


def write_impl(folder: Path, kata: Kata, source: str) -> Path:
    folder.mkdir(parents=True)
    if TESTING_EXCEPTION in source:
        source += f"\n\nclass {TESTING_EXCEPTION}(Exception):\n    pass\n"
    (folder / kata.filename).write_text(source, encoding="utf-8")
    return folder


def grade_folders(jobs: Sequence[tuple[Kata, Path]], parallel: int, timeout: float, label: str) -> list[Graded]:
    """The verdict ("pass", "fail", ...) of each (kata, folder), graded on CPU in forked children."""
    from kata_runner.grader import GradeOptions, grade_many

    base = GradeOptions(devices=("cpu",))
    options = replace(base, limits=replace(base.limits, wall_seconds=timeout))
    graded = [Graded("not_graded", "the grader returned no result")] * len(jobs)
    step = max(10, len(jobs) // 10)
    done = 0

    def collect(index: int, result: KataResult) -> None:
        nonlocal done
        graded[index] = Graded(result.verdict.value, result_summary(result))
        done += 1
        if done % step == 0 or done == len(jobs):
            print(f"  {label}: graded {done}/{len(jobs)}", file=sys.stderr, flush=True)

    grade_many(list(jobs), options, max_parallel=parallel, on_result=collect)
    return graded


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclass
class KataReport:
    kata: str
    name: str
    broken: str = ""  # why the unmutated solution does not pass
    operators: dict[str, int] = field(default_factory=dict)  # mutants made per operator
    made: int = 0
    killed: int = 0
    equivalent: int = 0
    skipped: int = 0
    invalid: int = 0
    duplicates: int = 0
    unchanged: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    survivors: list[dict] = field(default_factory=list)
    killed_but_listed: list[str] = field(default_factory=list)  # equivalence entries whose mutant was killed

    @property
    def survived(self) -> int:
        return len(self.survivors)

    @property
    def score(self) -> float | None:
        if self.broken:
            return None
        graded = self.made - self.equivalent
        return 100.0 if graded == 0 else 100.0 * self.killed / graded

    def as_json(self) -> dict:
        return {**asdict(self), "survived": self.survived, "score": self.score}


def build_report(kata: Kata, generation: Generation, mutants: list[Mutant], verdicts: list[str],
                 equivalents: list[Equivalent]) -> KataReport:
    report = KataReport(kata.id, kata.name, skipped=generation.skipped, invalid=generation.invalid,
                        duplicates=generation.duplicates, unchanged=generation.unchanged)
    report.made = len(mutants)
    report.operators = dict(Counter(m.operator for m in mutants))
    report.verdicts = dict(Counter(verdicts))
    for mutant, verdict in zip(mutants, verdicts):
        listed = next((e for e in equivalents if e.matches(mutant)), None)
        if verdict != "pass":
            report.killed += 1
            if listed is not None:
                report.killed_but_listed.append(f"{mutant.describe()} killed ({verdict}): {listed.reason}")
        elif listed is not None:
            report.equivalent += 1
        else:
            report.survivors.append(survivor_record(mutant))
    return report


def survivor_record(mutant: Mutant) -> dict:
    fields = {key: value for key, value in asdict(mutant).items() if key != "source"}
    return {**fields, "id": mutant.id, "text": mutant.describe()}


def stale_entries(equivalents: list[Equivalent], katas: Iterable[Kata], generated: list[Mutant]) -> list[Equivalent]:
    """Entries for the selected katas that match none of their mutants (before sampling)."""
    selected = {kata.id for kata in katas}
    return [e for e in equivalents if e.kata in selected and not any(e.matches(m) for m in generated)]


def print_table(reports: list[KataReport]) -> None:
    header = f"{'kata':<24} {'ops':>4} {'made':>5} {'killed':>6} {'survived':>8} {'equiv':>5} {'score':>7}"
    print(header)
    print("-" * len(header))
    for r in reports:
        if r.broken:
            print(f"{r.name:<24} broken, skipped: {r.broken}")
            continue
        print(f"{r.name:<24} {len(r.operators):>4} {r.made:>5} {r.killed:>6} {r.survived:>8} {r.equivalent:>5} "
              f"{r.score:>6.1f}%")
    ok = [r for r in reports if not r.broken]
    made, killed, equivalent = (sum(getattr(r, a) for r in ok) for a in ("made", "killed", "equivalent"))
    survived = sum(r.survived for r in ok)
    total = 100.0 * killed / (made - equivalent) if made > equivalent else 100.0
    operators = len({name for r in ok for name in r.operators})
    print("-" * len(header))
    print(f"{'total':<24} {operators:>4} {made:>5} {killed:>6} {survived:>8} {equivalent:>5} {total:>6.1f}%")


def print_notes(reports: list[KataReport]) -> None:
    skipped, invalid, duplicates, unchanged = (
        sum(getattr(r, a) for r in reports) for a in ("skipped", "invalid", "duplicates", "unchanged")
    )
    print(f"\nNot generated: {skipped} mutants inside docstrings or type annotations (equivalent: annotations are "
          "never evaluated under `from __future__ import annotations`).")
    print(f"Dropped: {invalid} that did not compile, {duplicates} duplicates of another mutant, "
          f"{unchanged} identical to the original.")


def print_survivors(reports: list[KataReport], stale: list[Equivalent]) -> None:
    survivors = [s["text"] for r in reports for s in r.survivors]
    print(f"\nSurvivors ({len(survivors)}): sharpen a spec, or list the mutant in bench/equivalent_mutants.toml")
    for text in survivors:
        print(f"  {text}")
    listed = [text for r in reports for text in r.killed_but_listed]
    if listed:
        print(f"\nListed as equivalent but killed ({len(listed)}): remove these entries")
        for text in listed:
            print(f"  {text}")
    if stale:
        print(f"\nStale equivalence entries ({len(stale)}): they match no mutant any more")
        for entry in stale:
            print(f"  {entry.describe()}")


# ---------------------------------------------------------------------------------------------
# Command
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kata", action="append", default=[], help="kata id or slug (repeatable; default: all)")
    parser.add_argument("--sample", type=int, default=None, metavar="N", help="a fixed sample of N mutants per kata")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="J", help="mutants graded at once")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S", help="seconds per mutant")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--list", action="store_true", help="only print the mutants, grade nothing")
    args = parser.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        parser.error("--sample must be at least 1")
    try:
        args.katas = [find_kata(key) for key in args.kata] if args.kata else list(all_katas())
    except LookupError as error:
        parser.error(str(error))
    return args


def list_mutants(katas: list[Kata], generations: dict[str, Generation], chosen: dict[str, list[Mutant]]) -> int:
    for kata in katas:
        generation = generations[kata.id]
        print(f"{kata.name}: {len(chosen[kata.id])} of {len(generation.mutants)} mutants "
              f"({generation.skipped} in docstrings/annotations not generated, {generation.invalid} did not compile)")
        for mutant in chosen[kata.id]:
            print(f"  {mutant.describe()}")
    return 0


def grade_katas(katas: list[Kata], sources: dict[str, str], chosen: dict[str, list[Mutant]],
                args: argparse.Namespace) -> tuple[dict[str, Graded], dict[str, list[str]]]:
    """Grade each unmutated solution, then every mutant of the katas whose solution passes.
    Returns the originals' results and, per graded kata, the verdicts of its mutants."""
    with tempfile.TemporaryDirectory(prefix="kata-mutants-") as tmp:
        root = Path(tmp)
        baseline = [(kata, write_impl(root / kata.id / "original", kata, sources[kata.id])) for kata in katas]
        originals = dict(zip((k.id for k in katas), grade_folders(baseline, args.jobs, args.timeout, "originals")))
        graded = [kata for kata in katas if originals[kata.id].verdict == "pass"]
        jobs = [
            (kata, write_impl(root / kata.id / f"m{number:04d}", kata, mutant.source))
            for kata in graded
            for number, mutant in enumerate(chosen[kata.id])
        ]
        results = iter(grade_folders(jobs, args.jobs, args.timeout, "mutants") if jobs else [])
        verdicts = {kata.id: [next(results).verdict for _ in chosen[kata.id]] for kata in graded}
    return originals, verdicts


def write_json(path: Path, reports: list[KataReport], stale: list[Equivalent], args: argparse.Namespace,
               wall: float) -> None:
    document = {
        "katas": [r.as_json() for r in reports],
        "stale_equivalents": [asdict(e) for e in stale],
        "sample": args.sample,
        "jobs": args.jobs,
        "timeout": args.timeout,
        "wall_seconds": round(wall, 1),
        "operators": sorted(all_operators()),
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def run_gate(args: argparse.Namespace, equivalents: list[Equivalent]) -> int:
    started = time.monotonic()
    operators = all_operators()
    katas = list(dict.fromkeys(args.katas))
    sources = {kata.id: kata.solution_path.read_text(encoding="utf-8") for kata in katas}
    generations = {kata.id: generate(kata, sources[kata.id], operators) for kata in katas}
    chosen = {kata.id: sample(generations[kata.id].mutants, args.sample) for kata in katas}
    if args.list:
        return list_mutants(katas, generations, chosen)
    print(f"Operators: {len(operators)} ({len(operators) - len(EXTRA_OPERATORS)} cosmic-ray core, "
          f"{len(EXTRA_OPERATORS)} kata); mutants to grade: {sum(len(m) for m in chosen.values())}", file=sys.stderr)

    originals, verdicts = grade_katas(katas, sources, chosen, args)
    reports = []
    for kata in katas:
        if kata.id in verdicts:
            reports.append(build_report(kata, generations[kata.id], chosen[kata.id], verdicts[kata.id], equivalents))
        else:
            reports.append(KataReport(kata.id, kata.name, broken=broken_reason(originals[kata.id])))
    stale = stale_entries(equivalents, katas, [m for g in generations.values() for m in g.mutants])
    wall = time.monotonic() - started

    print_table(reports)
    print_notes(reports)
    print_survivors(reports, stale)
    print(f"\nWall time: {wall:.1f} s ({args.jobs} jobs, {args.timeout:g} s per mutant"
          + (f", sample of {args.sample} per kata" if args.sample else "") + ")")
    if args.json:
        write_json(args.json, reports, stale, args, wall)
    return 0 if all(r.score == 100.0 for r in reports) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        equivalents = load_equivalents()
    except EquivalenceFileError as error:
        print(f"bench/equivalent_mutants.toml: {error}", file=sys.stderr)
        return 2
    return run_gate(args, equivalents)


if __name__ == "__main__":
    sys.exit(main())
