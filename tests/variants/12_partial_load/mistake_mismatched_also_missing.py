"""Mistake: filter, load_state_dict(strict=False), and report its missing_keys as they are: the filtered-out
mismatched keys come back as missing too."""

from kata_runner.testing import solution

EXPECT = "mismatched, not missing"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict()
    mismatched = [k for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    fitting = {k: v for k, v in state_dict.items() if k not in mismatched}
    result = model.load_state_dict(fitting, strict=False)
    loaded = [k for k in fitting if k in own]
    return LoadReport(sorted(loaded), sorted(mismatched), sorted(result.missing_keys), sorted(result.unexpected_keys))
