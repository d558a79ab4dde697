"""Mistake (the seed notebook's): the hook returns a bare tensor, fine for nn.Linear but PyTorch wraps it
as (tensor,), so a multi-argument module loses its other positional arguments."""

EXPECT = "bare tensor"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        return (x - x.mean()) / (x.std() + eps)

    return module.register_forward_pre_hook(hook)
