"""Mistake: eps is ignored; a constant input divides 0 by 0."""

EXPECT = "add eps to the std"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        return ((x - x.mean()) / x.std(), *args[1:])

    return module.register_forward_pre_hook(hook)
