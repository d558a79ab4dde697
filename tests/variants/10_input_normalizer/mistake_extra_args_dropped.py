"""Mistake: the hook returns a one-element tuple, dropping every other positional argument."""

EXPECT = "dropped the extra positional arguments"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        return ((x - x.mean()) / (x.std() + eps),)

    return module.register_forward_pre_hook(hook)
