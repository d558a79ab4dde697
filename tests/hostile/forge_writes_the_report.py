"""A wrong layer that finds the grader's report file through the judge's stack frames copied into its
process, and writes a passing result for every spec, then the end of the run."""

import gc
import json
import sys
from pathlib import Path

import torch

from kata_runner.testing import solution

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "grading report"
SANDBOX = "off"  # with the sandbox on the report is out of sight (tests/test_sandbox.py); here the grader's own check


def _forge():
    paths = set()
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, Path) and value.suffix == ".jsonl":
                paths.add(value)
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, Path) and obj.suffix == ".jsonl":
            paths.add(obj)
    for path in paths:
        try:
            lines = path.read_text().splitlines()
            collected = next(json.loads(x)["nodeids"] for x in lines if '"collected"' in x)
        except (OSError, StopIteration, ValueError):
            continue
        with open(path, "a") as report:
            for nodeid in collected:
                report.write(json.dumps({"event": "result", "nodeid": nodeid, "name": nodeid, "status": "pass",
                                         "device": "cpu"}) + "\n")
            report.write(json.dumps({"event": "done", "exitstatus": 0}) + "\n")


_forge()


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return torch.zeros(*x.shape[:-1], self.out_features, dtype=x.dtype, device=x.device)
