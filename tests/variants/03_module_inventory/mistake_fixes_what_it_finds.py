"""Mistake: "helpfully" registers each plain tensor it finds as a buffer, changing the module it inspects."""

import torch

from kata_runner.testing import solution

EXPECT = "unchanged"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    for name in result["unregistered"]:
        owner_path, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_path)
        value = vars(owner).get(leaf)
        if torch.is_tensor(value):
            delattr(owner, leaf)
            owner.register_buffer(leaf, value)
    return result
