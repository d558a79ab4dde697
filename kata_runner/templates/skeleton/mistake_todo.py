"""Mistake: TODO (author): one plausible mistake (the checks must fail it, saying EXPECT)."""

from kata_runner.testing import solution

EXPECT = "TODO"  # TODO (author): a phrase a failing spec's message must contain
_ref = solution("__KATA_ID__")


class __KATA_CLASS__(_ref.__KATA_CLASS__):
    pass  # TODO (author): the mistake.
