"""Correct: the hook returns a list (autograd accepts any sequence of the right length) and computes a
Python-float scale with min(); validation with `not max_norm > 0`; handles collected in a loop."""


def _clip(grad, max_norm):
    norm = float(grad.norm())
    if norm == 0.0:
        return grad.clone()
    return grad * min(1.0, max_norm / norm)


def clip_gradient_hook(max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0 (got {max_norm!r})")

    def hook(module, grad_input, grad_output):
        out = []
        for grad in grad_input:
            out.append(None if grad is None else _clip(grad, max_norm))
        return out

    return hook


def clip_parameter_gradients(module, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0 (got {max_norm!r})")
    handles = []
    for param in module.parameters():
        if not param.requires_grad:
            continue

        def clip(grad, limit=max_norm):
            return _clip(grad, limit)

        handles.append(param.register_hook(clip))
    return handles
