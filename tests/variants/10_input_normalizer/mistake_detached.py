"""Mistake: the input is detached before normalising, so no gradient reaches x."""

EXPECT = "gradients do not flow back"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0].detach()
        return ((x - x.mean()) / (x.std() + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
