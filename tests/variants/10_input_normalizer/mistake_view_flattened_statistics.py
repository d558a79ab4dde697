"""Mistake: the statistics are computed on x.view(-1), which fails on transposed and expanded inputs."""

EXPECT = "memory layout"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        if not args:
            return None
        x = args[0]
        flat = x.view(-1)
        return ((x - flat.mean()) / (flat.std() + eps), *args[1:]), kwargs

    return module.register_forward_pre_hook(hook, with_kwargs=True)
