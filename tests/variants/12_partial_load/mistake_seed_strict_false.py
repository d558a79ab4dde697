"""Mistake (the seed notebook's): load_state_dict(strict=False), which still raises on a size mismatch."""

from kata_runner.testing import solution

EXPECT = "strict=False"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    result = model.load_state_dict(state_dict, strict=False)
    loaded = [k for k in state_dict if k not in result.unexpected_keys]
    return LoadReport(sorted(loaded), [], sorted(result.missing_keys), sorted(result.unexpected_keys))
