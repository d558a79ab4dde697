"""Mistake: only a positional x is standardised; module(x=t) reaches forward untouched."""

EXPECT = "by keyword"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        if not args:
            return None
        x = args[0]
        return ((x - x.mean()) / (x.std() + eps), *args[1:]), kwargs

    return module.register_forward_pre_hook(hook, with_kwargs=True)
