"""Kata 07: predict and evaluating, eval mode restored exactly. Each spec checks one behaviour."""

import copy
from contextlib import contextmanager

import torch
from torch import nn

from kata_runner.asserts import assert_close, assert_equal, assert_no_history, attempt, fail

RESTORE = (
    "Record each submodule's own training flag before switching to eval, and set each one back afterwards."
)
SEED = (
    "An eval model must stay in eval: calling model.train() afterwards (the seed's inference()) flips it to "
    "training. " + RESTORE
)
FROZEN = (
    "A frozen BatchNorm kept in eval inside a training model must stay frozen: model.train(flag) or "
    "model.train() sets every submodule alike. " + RESTORE
)
FINALLY = "Restore the flags in a finally: block, so they come back even when an exception is raised."
NO_GRAD = "Run the forward under torch.no_grad() (or torch.inference_mode())."


class Boom(Exception):
    """Raised by a spec's model or with-block; it must come out of predict/evaluating unchanged."""


class Exploding(nn.Module):
    """A model whose forward raises Boom."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.norm = nn.BatchNorm1d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise Boom("the model's forward raised")


def mixed_model(device):
    """The fine-tuning set-up: a training model that keeps its BatchNorm frozen in eval mode."""
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Sequential(nn.Dropout(0.5), nn.Linear(8, 3))
    ).to(device)
    model.train()
    model[1].eval()
    with torch.no_grad():
        model[1].running_mean.copy_(torch.randn(8, device=device))
        model[1].running_var.copy_(torch.rand(8, device=device) + 0.5)
    return model


def flags(model):
    return {name: module.training for name, module in model.named_modules()}


def describe(model, name):
    module = model.get_submodule(name)
    kind = type(module).__name__
    return f"the model itself ({kind})" if not name else f"submodule '{name}' ({kind})"


def assert_flags(model, before, when, why):
    """Every submodule's training flag must equal the one recorded in `before`."""
    after = flags(model)
    changed = [name for name in before if after.get(name) != before[name]]
    if not changed:
        return
    parts = [
        f"{describe(model, name)} was in eval mode and was switched to training mode"
        if after.get(name)
        else f"{describe(model, name)} was in training mode and was left in eval mode"
        for name in changed[:2]
    ]
    more = f" (and {len(changed) - 2} more)" if len(changed) > 2 else ""
    fail(f"{when}, the training flags are not restored exactly: {'; '.join(parts)}{more}. {why}")


@contextmanager
def evaluating_block(kata, model):
    """`with kata.evaluating(model) as m:`, with crashes in the learner's code turned into verdicts.

    Exceptions raised in the block are re-raised; only a Boom that the learner's __exit__ suppressed
    ends the block quietly, so the spec can tell that the exception was swallowed.
    """
    manager = attempt(kata.evaluating, model, doing="evaluating(model)")
    if not (hasattr(manager, "__enter__") and hasattr(manager, "__exit__")):
        fail(
            f"evaluating(model) returned a {type(manager).__name__}, not a context manager: decorate the "
            "generator with @contextlib.contextmanager (or return an object with __enter__ and __exit__)."
        )
    value = attempt(manager.__enter__, doing="entering `with evaluating(model):`")
    try:
        yield value
    except BaseException as exc:
        suppressed = attempt(
            manager.__exit__, type(exc), exc, exc.__traceback__,
            doing="leaving `with evaluating(model):` through an exception",
        )
        if not (suppressed and isinstance(exc, Boom)):
            raise
    else:
        attempt(manager.__exit__, None, None, None, doing="leaving `with evaluating(model):`")


def raise_inside_evaluating(kata, model):
    """Raise Boom inside `with evaluating(model):`; return whether it came out of the block."""
    try:
        with evaluating_block(kata, model):
            raise Boom("raised inside the with-block")
    except Boom:
        return True
    return False


def predict(kata, model, x, doing="predict(model, x)"):
    return attempt(kata.predict, model, x, doing=doing)


def test_predict_returns_the_eval_mode_output(kata, device):
    """predict(model, x) equals the model's output in eval mode."""
    model = mixed_model(device)
    reference = copy.deepcopy(model).eval()
    x = torch.randn(6, 4, device=device)
    with torch.no_grad():
        expected = reference(x)
    out = predict(kata, model, x)
    assert_close(out, expected, "predict(model, x)", why="Expected model(x) computed in eval mode.")


def test_predict_turns_dropout_off(kata, device):
    """In predict, Dropout passes its input through unchanged."""
    model = nn.Sequential(nn.Dropout(0.5)).to(device).train()
    x = torch.randn(32, 16, device=device)
    out = predict(kata, model, x)
    assert_equal(
        out, x, "predict(model, x) of a model that is only a Dropout",
        why="Dropout is still active: call model.eval() first, so every Dropout layer is switched off.",
    )


def test_predict_normalises_with_batchnorm_running_statistics(kata, device):
    """In predict, BatchNorm normalises with running_mean/running_var, not the batch's statistics."""
    norm = nn.BatchNorm1d(3).to(device).train()
    with torch.no_grad():
        norm.running_mean.copy_(torch.tensor([1.0, -2.0, 0.5], device=device))
        norm.running_var.copy_(torch.tensor([4.0, 0.25, 1.0], device=device))
    x = torch.randn(8, 3, device=device)
    expected = (x - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps)
    out = predict(kata, nn.Sequential(norm), x)
    assert_close(
        out, expected, "predict(model, x) of a BatchNorm1d with known running statistics",
        why="In eval mode BatchNorm uses its running statistics; in training mode it uses the batch's own.",
    )


def test_predict_leaves_batchnorm_running_statistics_untouched(kata, device):
    """predict does not update BatchNorm's running_mean, running_var or num_batches_tracked."""
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device).train()
    before = {name: buf.clone() for name, buf in model.named_buffers()}
    predict(kata, model, torch.randn(16, 4, device=device) * 3 + 2)
    for name, buf in model.named_buffers():
        assert_equal(
            buf, before[name], f"BatchNorm buffer '{name}' after predict",
            why="BatchNorm running statistics changed: in training mode every forward updates them; "
            "predict must run in eval mode so they stay untouched.",
        )


def test_predict_output_carries_no_autograd_history(kata, device):
    """The tensor predict returns has no grad_fn and does not require grad."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
    out = predict(kata, model, torch.randn(5, 4, device=device))
    assert_no_history(out, "predict's output", why=NO_GRAD)


def test_predict_leaves_autograd_enabled_afterwards(kata, device):
    """After predict returns, grad mode is enabled again, as it was before the call."""
    model = nn.Sequential(nn.Linear(4, 2)).to(device)
    x = torch.randn(3, 4, device=device)
    predict(kata, model, x)
    if not torch.is_grad_enabled() or model(x).grad_fn is None:
        fail(
            "autograd is still disabled after predict returned: grad mode must be restored. Use "
            "`with torch.no_grad():`, which restores it on exit, not torch.set_grad_enabled(False)."
        )


def test_predict_puts_a_training_model_back_in_training_mode(kata, device):
    """After predict, a model that was training is in training mode again, every submodule included."""
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2)).to(device)
    model.train()
    before = flags(model)
    predict(kata, model, torch.randn(6, 4, device=device))
    assert_flags(
        model, before, "after predict on a training model",
        "A training loop that validates with predict would otherwise go on training with Dropout off. "
        + RESTORE,
    )


def test_predict_keeps_an_eval_model_in_eval_mode(kata, device):
    """After predict, a model that was in eval mode is still in eval mode, every submodule included."""
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2)).to(device)
    model.eval()
    before = flags(model)
    predict(kata, model, torch.randn(6, 4, device=device))
    assert_flags(model, before, "after predict on a model in eval mode", SEED)


def test_predict_restores_a_frozen_batchnorm_inside_a_training_model(kata, device):
    """After predict, a training model keeps its frozen BatchNorm in eval: every flag is restored exactly."""
    model = mixed_model(device)
    before = flags(model)
    predict(kata, model, torch.randn(6, 4, device=device))
    assert_flags(model, before, "after predict on a training model with a frozen BatchNorm", FROZEN)


def test_predict_restores_the_flags_when_the_model_raises(kata, device):
    """When the model's forward raises, predict lets the exception through and still restores every flag."""
    model = Exploding().to(device).train()
    before = flags(model)
    try:
        kata.predict(model, torch.randn(2, 4, device=device))
    except Boom:
        pass
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other error is the learner's
        fail(f"predict raised {type(exc).__name__}: {exc} instead of letting the model's exception through.")
    else:
        fail("predict returned normally although the model's forward raised: the exception was swallowed.")
    assert_flags(model, before, "after predict on a model whose forward raised", FINALLY)


def test_evaluating_yields_the_model(kata, device):
    """`with evaluating(model) as m:` binds m to the model itself."""
    model = mixed_model(device)
    with evaluating_block(kata, model) as value:
        if value is not model:
            fail(f"`with evaluating(model) as m:` gave m = {type(value).__name__}; yield the model itself.")


def test_evaluating_puts_every_submodule_in_eval_mode_inside(kata, device):
    """Inside the with-block every submodule, nested ones included, has training == False."""
    model = mixed_model(device)
    with evaluating_block(kata, model):
        still = [name for name, module in model.named_modules() if module.training]
    if still:
        fail(
            f"inside evaluating(), {describe(model, still[0])} is still in training mode: every submodule "
            "must be in eval mode. model.training = False changes only the top module; model.eval() sets "
            "every submodule."
        )


def test_evaluating_turns_dropout_off_inside(kata, device):
    """Inside the with-block, a Dropout layer passes its input through unchanged."""
    model = nn.Sequential(nn.Sequential(nn.Dropout(0.5))).to(device).train()
    x = torch.randn(32, 16, device=device)
    with evaluating_block(kata, model):
        out = attempt(model, x, doing="model(x) inside evaluating()")
    assert_equal(
        out, x, "model(x) inside evaluating() for a model that is only a Dropout",
        why="Dropout is still active: call model.eval(), which switches off every Dropout layer.",
    )


def test_evaluating_leaves_batchnorm_running_statistics_untouched_inside(kata, device):
    """A forward inside the with-block does not update BatchNorm's running statistics."""
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device).train()
    before = {name: buf.clone() for name, buf in model.named_buffers()}
    x = torch.randn(16, 4, device=device) * 3 + 2
    with evaluating_block(kata, model):
        attempt(model, x, doing="model(x) inside evaluating()")
    for name, buf in model.named_buffers():
        assert_equal(
            buf, before[name], f"BatchNorm buffer '{name}' after a forward inside evaluating()",
            why="BatchNorm running statistics changed: BatchNorm is still in training mode inside the block.",
        )


def test_evaluating_disables_autograd_inside(kata, device):
    """A forward inside the with-block produces an output without autograd history."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).to(device)
    x = torch.randn(5, 4, device=device)
    with evaluating_block(kata, model):
        out = attempt(model, x, doing="model(x) inside evaluating()")
    assert_no_history(out, "model(x) computed inside evaluating()", why=NO_GRAD)


def test_evaluating_restores_grad_mode_on_exit(kata, device):
    """After the with-block, autograd is enabled again, as it was before."""
    model = nn.Sequential(nn.Linear(4, 2)).to(device)
    with evaluating_block(kata, model):
        pass
    if not torch.is_grad_enabled():
        fail(
            "autograd is still disabled after leaving evaluating(): grad mode must be restored. Wrap the "
            "yield in `with torch.no_grad():`, which restores it on exit, instead of "
            "torch.set_grad_enabled(False)."
        )


def test_evaluating_puts_a_training_model_back_in_training_mode(kata, device):
    """After the with-block, a model that was training is in training mode again, every submodule included."""
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5)).to(device).train()
    before = flags(model)
    with evaluating_block(kata, model):
        pass
    assert_flags(model, before, "after leaving evaluating() on a training model", RESTORE)


def test_evaluating_keeps_an_eval_model_in_eval_mode(kata, device):
    """After the with-block, a model that was in eval mode is still in eval mode."""
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5)).to(device).eval()
    before = flags(model)
    with evaluating_block(kata, model):
        pass
    assert_flags(model, before, "after leaving evaluating() on a model in eval mode", SEED)


def test_evaluating_restores_a_frozen_batchnorm_inside_a_training_model(kata, device):
    """After the with-block, a training model keeps its frozen BatchNorm in eval: every flag is restored."""
    model = mixed_model(device)
    before = flags(model)
    with evaluating_block(kata, model):
        pass
    when = "after leaving evaluating() on a training model with a frozen BatchNorm"
    assert_flags(model, before, when, FROZEN)


def test_evaluating_restores_the_flags_when_the_body_raises(kata, device):
    """When the with-block raises, every training flag is still restored."""
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5)).to(device).train()
    before = flags(model)
    raise_inside_evaluating(kata, model)
    assert_flags(model, before, "after an exception left the evaluating() block", FINALLY)


def test_evaluating_lets_the_exception_propagate(kata, device):
    """An exception raised inside the with-block comes out of it unchanged."""
    if not raise_inside_evaluating(kata, mixed_model(device)):
        fail(
            "evaluating() swallowed the exception raised inside the with-block: restore the flags in "
            "finally: and let the exception propagate (do not catch it without re-raising, do not return "
            "True from __exit__)."
        )


def test_nested_evaluating_blocks_restore_each_level(kata, device):
    """Leaving an inner block keeps the outer block's eval mode; leaving the outer one restores the flags."""
    model = mixed_model(device)
    before = flags(model)
    with evaluating_block(kata, model):
        with evaluating_block(kata, model):
            pass
        training = [name for name, module in model.named_modules() if module.training]
        if training:
            fail(
                "after leaving an inner evaluating() block, still inside the outer one, "
                f"{describe(model, training[0])} is in training mode: the inner block must restore the flags "
                "it found (all eval), not call model.train(). " + RESTORE
            )
    assert_flags(model, before, "after leaving both nested evaluating() blocks", RESTORE)
