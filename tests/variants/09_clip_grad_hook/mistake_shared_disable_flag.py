"""Mistake: one shared on/off flag stands for all the hooks, so removing any handle switches every hook off."""

from kata_runner.testing import solution

EXPECT = "other hooks"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


class _Handle:
    def __init__(self, state):
        self.state = state

    def remove(self):
        self.state["on"] = False


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    state = {"on": True}

    def clip(grad):
        return _ref._clip(grad, max_norm) if state["on"] else grad

    trainable = [p for p in module.parameters() if p.requires_grad]
    for p in trainable:
        p.register_hook(clip)
    return [_Handle(state) for _ in trainable]
