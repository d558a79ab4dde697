"""A wrong layer that patches the report writer, the assertion helpers' code, the tolerances and the
reference modules the specs compare against, then fakes a pass into every open file it can find."""

import gc
import json
import os

import torch
from torch import nn

import kata_runner.asserts as asserts
import kata_runner.draw as draw
import kata_runner.plugin as plugin
from kata_runner.testing import solution

EXPECT_VERDICT = "fail"
EXPECT_MESSAGE = ""


def _nothing(*args, **kwargs):
    return None


for helper in (asserts.assert_close, asserts.assert_keys, asserts.fail, asserts.assert_equal):
    helper.__code__ = _nothing.__code__
asserts._default_tolerances = lambda dtype: (1e9, 1e9)
draw.tolerance = lambda dtype, terms=1: {"rtol": 1e9, "atol": 1e9}
plugin.ReportWriter.emit = lambda self, **event: None
nn.BatchNorm1d.forward = lambda self, x: x

for obj in gc.get_objects():
    if isinstance(obj, plugin.ReportWriter):
        for nodeid in list(obj.records):
            obj.records[nodeid]["status"] = "pass"
        try:
            os.write(obj.fd, (json.dumps({"event": "done", "exitstatus": 0}) + "\n").encode())
        except OSError:
            pass


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return torch.zeros(*x.shape[:-1], self.out_features, dtype=x.dtype, device=x.device)
