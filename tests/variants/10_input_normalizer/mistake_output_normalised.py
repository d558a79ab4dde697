"""Mistake: a forward hook (not a pre-hook) standardises the output; forward still receives the raw x."""

EXPECT = "the x that forward received"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, output):
        return (output - output.mean()) / (output.std() + eps)

    return module.register_forward_hook(hook)
