"""Correct: a callable hook object registered with with_kwargs=True, built from method calls."""


class _Normalize:
    def __init__(self, eps):
        self.eps = eps

    def __call__(self, module, args, kwargs):
        x, *rest = args
        centred = x.sub(x.mean())
        return tuple([centred.div(x.std().add(self.eps)), *rest]), dict(kwargs)


def attach_input_normalizer(module, eps=1e-5):
    return module.register_forward_pre_hook(_Normalize(eps), with_kwargs=True)
