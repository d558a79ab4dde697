"""Mistake: a keyword x is looked up as kwargs["x"], so nn.Linear(input=t) or features=t is missed."""

EXPECT = "forward's first parameter"


def attach_input_normalizer(module, eps=1e-5):
    def hook(module, args, kwargs):
        if args:
            x = args[0]
            return ((x - x.mean()) / (x.std() + eps), *args[1:]), kwargs
        if "x" in kwargs:
            x = kwargs["x"]
            return args, {**kwargs, "x": (x - x.mean()) / (x.std() + eps)}
        return None

    return module.register_forward_pre_hook(hook, with_kwargs=True)
