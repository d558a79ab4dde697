"""Mistake: rebinding `tensor.data = value`, which adopts the source's dtype, device and memory instead of copying."""

from kata_runner.testing import solution

EXPECT = "model's dtype"
_ref = solution("12")
LoadReport = _ref.LoadReport


def load_compatible(model, state_dict):
    own = model.state_dict(keep_vars=True)
    report = LoadReport()
    for key, value in state_dict.items():
        if key not in own:
            report.unexpected.append(key)
        elif own[key].shape != value.shape:
            report.mismatched.append(key)
        else:
            own[key].data = value
            report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
