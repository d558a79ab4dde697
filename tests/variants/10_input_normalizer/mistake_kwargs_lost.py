"""Mistake: registered with with_kwargs=True, but returns an empty kwargs dict, losing the keyword arguments."""

EXPECT = "keyword arguments were lost"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        x = args[0]
        return ((x - x.mean()) / (x.std() + eps), *args[1:]), {}

    return module.register_forward_pre_hook(hook, with_kwargs=True)
