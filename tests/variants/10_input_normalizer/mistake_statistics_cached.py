"""Mistake: the mean and std of the first call are cached and reused on every later call."""

EXPECT = "on every call"


def attach_input_normalizer(module, eps=1e-5):
    stats = {}

    def hook(module, args):
        x = args[0]
        if not stats:
            stats["mean"], stats["std"] = x.mean().detach(), x.std().detach()
        return ((x - stats["mean"]) / (stats["std"] + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
