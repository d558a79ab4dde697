"""Mistake: `param.data = value.to(param.dtype, param.device)`: the cast is right, but when the value already
has the model's dtype and device, .to() returns it unchanged and the model adopts the checkpoint's memory."""

from kata_runner.testing import solution

EXPECT = "shares memory"
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
            own[key].data = value.to(dtype=own[key].dtype, device=own[key].device)
            report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
