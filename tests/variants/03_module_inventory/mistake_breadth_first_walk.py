"""Mistake: the tree is walked breadth first, so a tied Parameter is kept under the name met first in
that order, not under its first name in named_modules() order."""

from collections import deque

from kata_runner.testing import solution

EXPECT = "first name"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    params, seen_tensors, seen_modules = [], set(), set()
    queue = deque([("", module)])
    while queue:
        prefix, sub = queue.popleft()
        if id(sub) in seen_modules:
            continue
        seen_modules.add(id(sub))
        for name, p in sub._parameters.items():
            if p is not None and id(p) not in seen_tensors:
                seen_tensors.add(id(p))
                params.append(f"{prefix}.{name}" if prefix else name)
        for name, child in sub._modules.items():
            if child is not None:
                queue.append((f"{prefix}.{name}" if prefix else name, child))
    result["parameters"] = sorted(params)
    return result
