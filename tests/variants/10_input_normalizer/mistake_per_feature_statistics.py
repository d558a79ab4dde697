"""Mistake: per-feature statistics (mean and std over dim 0) instead of the whole tensor's."""

EXPECT = "whole tensor"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args):
        x = args[0]
        return ((x - x.mean(0)) / (x.std(0) + eps), *args[1:])

    return module.register_forward_pre_hook(hook)
