"""Mistake: registered with with_kwargs=True, but returns only the new args tuple (PyTorch rejects it)."""

EXPECT = "(new_args, new_kwargs)"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        x = args[0]
        return ((x - x.mean()) / (x.std() + eps), *args[1:])

    return module.register_forward_pre_hook(hook, with_kwargs=True)
