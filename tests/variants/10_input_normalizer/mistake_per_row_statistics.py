"""Mistake: each row standardised with its own statistics (over the last dimension), like LayerNorm."""

from kata_runner.testing import solution

EXPECT = "along one dimension"
_ref = solution("10")


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        if not args:
            return None
        x = args[0]
        mean, std = x.mean(-1, keepdim=True), x.std(-1, keepdim=True)
        return ((x - mean) / (std + eps), *args[1:]), kwargs

    return module.register_forward_pre_hook(hook, with_kwargs=True)
