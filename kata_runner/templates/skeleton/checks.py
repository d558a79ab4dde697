"""Kata __KATA_ID__: __KATA_TITLE__.

Every spec is judged outside the learner's process: a @probe runs the learner's code in the subject
and returns plain observations; the spec draws the inputs, computes the expected values with its own
torch and decides. See docs/authoring.md of torch-katas.

Contract clauses, and the specs that enforce them:

C1  TODO (author): one promise of the stub's contract, then the specs that enforce it.
    -> forward_todo
"""


from kata_runner.asserts import assert_close, each
from kata_runner.draw import batches, describe, examples, given, tensors
from kata_runner.probing import probe

# ------------------------------------------------------------------------------------------ probes


@probe
def forward(impl, cases):
    """TODO (author): build the learner's objects from the judge's inputs; return plain observations."""
    return [impl.__KATA_CLASS__().to(x.device)(x) for x in cases]


# ------------------------------------------------------------------------------------------ specs


@given(drawn=batches(tensors((4,))))
@examples(3)
def test_forward_todo(kata, device, drawn):
    """TODO (author): the sentence a learner reads when this spec fails."""
    xs = [spec.make(device) for spec in drawn]
    seen = kata.run(forward, xs, doing=f"forward on {drawn[0].describe()}")
    for x, out in each(xs, seen):
        expected = x  # TODO (author): the expected value, computed with torch in the judge.
        assert_close(out, expected, f"forward on {describe(x)}", why="TODO (author): the concept, in words.")
