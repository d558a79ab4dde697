"""Correct: a callable hook object that clips with Tensor.renorm; parameters collected module by module,
a tied parameter hooked once (deduplicated by identity)."""

import functools


def _clip(grad, max_norm):
    # renorm rescales each slice along dim 0 whose norm exceeds maxnorm; one slice = the whole tensor.
    return grad.reshape(1, -1).renorm(p=2, dim=0, maxnorm=max_norm).reshape(grad.shape)


class _ClipInputs:
    def __init__(self, max_norm):
        self.max_norm = max_norm

    def __call__(self, module, grad_input, grad_output):
        result = []
        for grad in grad_input:
            result.append(grad if grad is None else _clip(grad, self.max_norm))
        return tuple(result)


def clip_gradient_hook(max_norm):
    if not max_norm > 0:  # rejects nan too
        raise ValueError("max_norm must be positive")
    return _ClipInputs(max_norm)


def clip_parameter_gradients(module, max_norm):
    if not max_norm > 0:  # rejects nan too
        raise ValueError("max_norm must be positive")
    handles, seen = [], set()
    for sub in module.modules():
        for _, param in sub.named_parameters(recurse=False):
            if param.requires_grad and id(param) not in seen:
                seen.add(id(param))
                handles.append(param.register_hook(functools.partial(_clip, max_norm=max_norm)))
    return handles
