"""Mistake: the biased std (correction=0) instead of x.std()'s default unbiased one."""

EXPECT = "unbiased"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        return ((x - x.mean()) / (x.std(correction=0) + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
