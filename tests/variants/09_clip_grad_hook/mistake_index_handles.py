"""Mistake: home-made handles remove "their" hook by position in a shared list, so after one removal the
positions shift and removing the handles in the order they were returned leaves hooks behind."""

from kata_runner.testing import solution

EXPECT = "any order"
_ref = solution("09")
clip_gradient_hook = _ref.clip_gradient_hook


class _Handle:
    def __init__(self, active, index):
        self.active, self.index = active, index

    def remove(self):
        if self.index < len(self.active):
            self.active.pop(self.index)


def clip_parameter_gradients(module, max_norm):
    _ref._check_max_norm(max_norm)
    trainable = [p for p in module.parameters() if p.requires_grad]
    active = list(range(len(trainable)))
    for i, p in enumerate(trainable):
        p.register_hook(lambda g, i=i: _ref._clip(g, max_norm) if i in active else g)
    return [_Handle(active, i) for i in range(len(trainable))]
