"""Mistake: the caller's tensor is normalised in place (sub_ / div_)."""

EXPECT = "in place"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        std = x.std()
        x.sub_(x.mean()).div_(std + eps)
        return (x, *args[1:])

    return module.register_forward_pre_hook(hook)
