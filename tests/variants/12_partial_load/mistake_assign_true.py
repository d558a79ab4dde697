"""Mistake: load_state_dict(..., assign=True) on the fitting entries: the model gets new Parameter objects that
wrap the source tensors (no copy, no cast), so an optimizer built before loading updates stale ones."""

from kata_runner.testing import solution

EXPECT = "load in place"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict()
    mismatched = [k for k, v in state_dict.items() if k in own and own[k].shape != v.shape]
    fitting = {k: v for k, v in state_dict.items() if k not in mismatched}
    result = model.load_state_dict(fitting, strict=False, assign=True)
    loaded = [k for k in fitting if k in own]
    missing = [k for k in own if k not in state_dict]
    return LoadReport(sorted(loaded), sorted(mismatched), sorted(missing), sorted(result.unexpected_keys))
