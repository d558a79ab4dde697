"""Mistake: the update switches grad mode off and then back ON, even when the caller was under torch.no_grad()."""

import inspect

from kata_runner.testing import solution

EXPECT = 'switched grad mode'

# The reference solution with one change: each (before, after) pair below replaces lines of its source.
_source = inspect.getsource(solution("06"))
_CHANGES = [
    (
        'with torch.no_grad():\n',
        'if torch.set_grad_enabled(False) or True:\n',
    ),
    (
        '        else:\n            # TODO 6.',
        '            torch.set_grad_enabled(True)\n        else:\n            # TODO 6.',
    ),
]
for _before, _after in _CHANGES:
    assert _before in _source, f"the reference solution no longer contains {_before!r}"
    _source = _source.replace(_before, _after)
exec(compile(_source, __file__, "exec"))  # defines BatchNormLike here
