"""Mistake: the mismatched entries are deleted from the caller's state_dict before load_state_dict(strict=False)."""

from kata_runner.testing import solution

EXPECT = "caller's state_dict"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict()
    mismatched = [k for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    for key in mismatched:
        del state_dict[key]
    result = model.load_state_dict(state_dict, strict=False)
    loaded = [k for k in state_dict if k in own]
    missing = [k for k in own if k not in state_dict and k not in mismatched]
    return LoadReport(sorted(loaded), sorted(mismatched), sorted(missing), sorted(result.unexpected_keys))
