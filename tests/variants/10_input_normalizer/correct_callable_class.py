"""Correct: a callable hook object registered with with_kwargs=True, built from method calls."""

import inspect


class _Normalize:
    def __init__(self, module, eps):
        self.eps = eps
        self.name = next(iter(inspect.signature(module.forward).parameters))

    def standardise(self, x):
        return x.sub(x.mean()).div(x.std().add(self.eps))

    def __call__(self, module, args, kwargs):
        if args:
            x, *rest = args
            return tuple([self.standardise(x), *rest]), dict(kwargs)
        if self.name in kwargs:
            kwargs = dict(kwargs)
            kwargs[self.name] = self.standardise(kwargs[self.name])
            return args, kwargs
        return None


def attach_input_normalizer(module, eps=1e-5):
    return module.register_forward_pre_hook(_Normalize(module, eps), with_kwargs=True)
