"""Batched probes: one round trip to the subject judges a whole batch of drawn cases.

In the subject, `each_case` observes every case and turns learner code that raises on one case into that
case's observation. In the judge, `judged` pairs cases with observations and fails the spec for a case on
which the learner's code raised, naming that case's input. `cases_of` and `distinct_batches` draw the
batches, and `batch_doing` describes a whole batch for a failure no single case can be blamed for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kata_runner.asserts import each
from kata_runner.draw import st
from kata_runner.subject import LearnerError, describe_exception, looks_out_of_memory

__all__ = ["RAISED", "each_case", "judged", "cases_of", "distinct_batches", "batch_doing"]

RAISED = "raised by the learner's code"


def each_case(impl: Any, cases: Sequence[Sequence[Any]], observe: Callable[..., Any]) -> list[Any]:
    """In the subject: observe(impl, *case) for every case. An exception from the learner's code becomes that
    case's observation; NotImplementedError and running out of memory still end the call, as unbatched."""
    seen = []
    for case in cases:
        try:
            seen.append(observe(impl, *case))
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - the judge fails the spec, naming this case
            error = describe_exception(exc, Path(getattr(impl, "__file__", None) or "<unknown>"))
            if looks_out_of_memory(error["type"], error["message"]):
                raise
            seen.append({RAISED: error})
    return seen


def judged(cases: Sequence[Any], seen: Any, doing: Callable[[Any], str],
           why: Callable[[Any], str] = lambda case: "") -> Iterator[tuple[Any, Any]]:
    """In the judge: (case, observation) pairs, as asserts.each gives them. A case on which the learner's code
    raised fails the spec as an unbatched call would, "<doing(case)> raised <exception>. <why(case)>", once the
    other cases have been judged: the spec's own verdict on another case names the concept better."""
    raised = None
    for case, observed in each(cases, seen):
        error = observed.get(RAISED) if type(observed) is dict else None
        if error is None:
            yield case, observed
        elif raised is None:
            raised = LearnerError(str(error["type"]), [str(t) for t in error["types"]], str(error["message"]),
                                  str(error["where"]), doing(case), why(case))
    if raised is not None:
        raise raised


def cases_of(strategy: Any, many: int) -> Any:
    """Batches of drawn cases, each judged in one round trip: one case or `many`. Hypothesis's first example is
    its simplest (a single minimal case); with @examples(2) the second one carries `many` drawn cases, so a spec
    judges 1 + `many` cases, as that many one-case examples did, in two round trips."""
    return st.one_of(st.lists(strategy, min_size=1, max_size=1), st.lists(strategy, min_size=many, max_size=many))


def distinct_batches(strategy: Any, min_size: int = 1, max_size: int = 8) -> Any:
    """Batches of min_size to max_size cases, as draw.batches, but with sizes drawn evenly (draw.batches' are
    mostly 1 or 8), so that a spec's 2 or 3 examples reliably add up to as many cases as it needs. Repeats
    are dropped: Hypothesis's first example is its simplest case, min_size times."""
    return st.lists(strategy, min_size=min_size, max_size=max_size).map(_distinct)


def _distinct(batch: list[Any]) -> list[Any]:
    return list({repr(item): item for item in batch}.values())


def batch_doing(doings: Sequence[str]) -> str:
    """What a whole batch was doing (each case's `doing`), for a failure no single case can be blamed for."""
    more = f" (and {len(doings) - 1} more drawn inputs)" if len(doings) > 1 else ""
    return f"{doings[0]}{more}"
