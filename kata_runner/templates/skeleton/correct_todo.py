"""Correct: TODO (author): another correct way to write the kata (the checks must accept it).

Load the reference with solution("__KATA_ID__") and change what this variant does differently.
"""

from kata_runner.testing import solution

_ref = solution("__KATA_ID__")


class __KATA_CLASS__(_ref.__KATA_CLASS__):
    pass  # TODO (author): the alternative.
