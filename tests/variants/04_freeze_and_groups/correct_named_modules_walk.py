"""Correct: walks named_modules() with a memo of the Parameters already seen (which is exactly how
named_parameters() names a shared parameter), assigns `param.requires_grad`, returns params as tuples,
and counts with torch.nn.utils.parameters_to_vector."""

import torch


def _walk(model):
    seen = set()
    for path, module in model.named_modules():
        for attr, param in module._parameters.items():
            if param is None or id(param) in seen:
                continue
            seen.add(id(param))
            yield (f"{path}.{attr}" if path else attr), param


def _covers(prefix, name):
    return name == prefix or name[: len(prefix) + 1] == prefix + "."


def _set(model, prefixes, flag):
    wanted = tuple(prefixes)
    params = list(_walk(model))
    for prefix in wanted:
        if not any(_covers(prefix, name) for name, _ in params):
            raise ValueError("no parameter is named by the prefix " + repr(prefix))
    changed = []
    for name, param in params:
        if param.requires_grad is not flag and any(_covers(prefix, name) for prefix in wanted):
            param.requires_grad = flag
            changed.append(name)
    changed.sort()
    return changed


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)


def param_groups(model, lr_by_prefix, default_lr):
    longest_first = sorted(lr_by_prefix, key=len, reverse=True)
    order, members = [], {}
    for name, param in _walk(model):
        if not param.requires_grad:
            continue
        key = next((p for p in longest_first if _covers(p, name)), None)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append((name, param))
    return [
        {
            "params": tuple(p for _, p in members[key]),
            "names": tuple(n for n, _ in members[key]),
            "lr": default_lr if key is None else lr_by_prefix[key],
        }
        for key in order
    ]


def count_parameters(model, trainable_only=False):
    params = [p for p in model.parameters() if p.requires_grad or not trainable_only]
    if not params:
        return 0
    return int(torch.nn.utils.parameters_to_vector(params).numel())
