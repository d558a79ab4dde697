"""Mistake: copy_ straight into the Parameters (keep_vars=True) outside torch.no_grad(): autograd refuses an
in-place operation on a leaf that requires grad."""

from kata_runner.testing import solution

EXPECT = "torch.no_grad()"
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
            own[key].copy_(value)
            report.loaded.append(key)
    report.missing = [k for k in own if k not in state_dict]
    for keys in (report.loaded, report.mismatched, report.missing, report.unexpected):
        keys.sort()
    return report
