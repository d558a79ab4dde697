"""Mistake: predict runs the forward with autograd on and detaches the result: no grad_fn on the
output, but the whole graph was built (and its memory spent) for nothing."""

from kata_runner.testing import solution

evaluating = solution("07").evaluating

EXPECT = "ran with autograd enabled"


def predict(model, x):
    saved = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        return model(x).detach()
    finally:
        for module, was_training in saved:
            module.training = was_training
