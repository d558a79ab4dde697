"""A wrong layer that installs a tracing hook which jumps over every failing line in the checks."""

import sys

import torch

from kata_runner.testing import solution

EXPECT_VERDICT = "fail"
EXPECT_MESSAGE = ""


def _tracer(frame, event, arg):
    name = frame.f_code.co_filename
    if "checks" in name or "asserts" in name:
        frame.f_trace_lines = True

        def local(frame, event, arg):
            if event == "line":
                import linecache

                text = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
                if "fail(" in text or "raise" in text:
                    try:
                        frame.f_lineno = frame.f_lineno + 1
                    except ValueError:
                        pass
            return local

        return local
    return None


sys.settrace(_tracer)


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        sys.settrace(_tracer)
        return torch.zeros(*x.shape[:-1], self.out_features, dtype=x.dtype, device=x.device)
