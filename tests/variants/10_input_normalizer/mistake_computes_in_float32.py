"""Mistake: x is cast to float32 before standardising, whatever its dtype."""

EXPECT = "dtype"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0].float()
        return ((x - x.mean()) / (x.std() + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
