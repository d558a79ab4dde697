"""Kata 07: predict and evaluating, eval mode restored exactly.

Every spec is judged outside the learner's process: a @probe builds a model from a plain description
the spec drew (a generated tree of containers and layers, each with its own training flag, and a
state_dict the spec made), runs the learner's predict/evaluating on it and returns plain observations
(outputs, training flags by name, grad mode, buffers, what was raised); the spec builds its own copy of
the same model with its own torch and decides.

Contract clauses, and the specs that enforce them:

C1  predict(model, x) returns model(x) computed with every submodule in eval mode: Dropout is off,
    BatchNorm normalises with its running statistics; any model tree, a batch of one, float32/float64,
    any memory layout; x is never modified; calling it twice gives the same result.
    -> predict_returns_the_eval_mode_output, predict_turns_dropout_off,
       predict_normalises_with_batchnorm_running_statistics
C2  predict never updates BatchNorm's buffers (running_mean, running_var, num_batches_tracked).
    -> predict_leaves_batchnorm_running_statistics_untouched
C3  predict runs the forward with autograd off (a module sees torch.is_grad_enabled() == False) and
    returns a tensor without autograd history; afterwards grad mode is what the caller had (on, or off
    under torch.no_grad()).   -> predict_runs_the_forward_without_autograd, predict_keeps_the_callers_grad_mode
C4  After predict every submodule's own training flag is exactly what it was before (training models,
    eval models, frozen BatchNorms and any mix, nested containers, modules not used in forward).
    -> predict_restores_every_training_flag_exactly
C5  When the model raises (an Exception, or a BaseException such as KeyboardInterrupt or SystemExit),
    predict lets that very exception out, and every flag and the grad mode are restored.
    -> predict_lets_the_models_exception_through, predict_restores_the_state_when_the_model_raises
C6  `with evaluating(model) as m:` binds m to the model itself.   -> evaluating_yields_the_model_itself
C7  Inside the block every submodule is in eval mode (Dropout off, BatchNorm on running statistics,
    buffers untouched) and autograd is off (torch.is_grad_enabled() is False, outputs carry no history).
    -> evaluating_puts_every_submodule_in_eval_mode_inside, evaluating_turns_dropout_off_inside,
       evaluating_leaves_batchnorm_running_statistics_untouched_inside, evaluating_disables_autograd_inside
C8  On leaving the block every submodule's training flag is what it was before the block, whatever the
    block did to the flags, and grad mode is what the caller had.
    -> evaluating_restores_every_training_flag_exactly, evaluating_undoes_flag_changes_made_in_the_block,
       evaluating_restores_the_callers_grad_mode
C9  When the block raises (directly or through the model's forward; an Exception or a BaseException),
    that very exception propagates out of the with statement, and flags and grad mode are restored.
    -> evaluating_lets_the_exception_propagate, evaluating_restores_the_state_when_the_block_raises
C10 Blocks nest: leaving an inner block keeps the outer block's eval mode and no-grad; leaving the outer
    one restores the flags and grad mode from before.   -> nested_evaluating_blocks_restore_each_level
"""

from __future__ import annotations

import copy
from collections import OrderedDict

import torch
from torch import nn

from kata_runner.asserts import assert_close, assert_equal, fail
from kata_runner.draw import FLOAT_DTYPES, examples, given, sizes, st, tensors
from kata_runner.probing import probe, snapshot

RESTORE = "Record each submodule's own training flag before switching to eval, and set each one back afterwards."
SEED = (
    "An eval model must stay in eval: calling model.train() afterwards (the seed's inference()) flips it to "
    "training. " + RESTORE
)
FROZEN = (
    "A submodule kept in eval inside a training model (a frozen BatchNorm) must stay frozen: model.train() "
    "or model.train(flag) sets every submodule alike. " + RESTORE
)
FINALLY = "Restore the flags in a finally: block, so they come back even when an exception is raised."
BASE = (
    " KeyboardInterrupt and SystemExit are BaseExceptions, not Exceptions: `except Exception:` does not see "
    "them, a finally: block does."
)
NO_GRAD = "Run the forward under torch.no_grad() (or torch.inference_mode())."
MANAGER = "evaluating(model) must return a context manager: decorate the generator with @contextlib.contextmanager."
EXCEPTIONS = ("Boom", "ValueError", "KeyboardInterrupt", "SystemExit", "Halt")
TREE_DTYPES = (torch.float32, torch.float64)


# ------------------------------------------------------------------------------------------ models
# Built from a plain description, the same way in the subject (by the probes) and in the judge.


class Boom(Exception):
    """An ordinary error raised by a spec's model or with-block."""


class Halt(BaseException):
    """A BaseException that is not an Exception, like KeyboardInterrupt."""


def make_exception(name):
    kinds = {"Boom": Boom, "Halt": Halt, "ValueError": ValueError, "KeyboardInterrupt": KeyboardInterrupt,
             "SystemExit": SystemExit}
    return kinds[name](f"{name} raised on purpose by the spec")


class Spy(nn.Module):
    """Records (training, grad enabled) at every call; adds 1 in training mode, so the mode shows."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def forward(self, x):
        self.calls.append([bool(self.training), torch.is_grad_enabled()])
        return x + 1 if self.training else x


class Raiser(nn.Module):
    """Raises the named exception when called; keeps it, so a probe can tell whether it came out unchanged."""

    def __init__(self, name) -> None:
        super().__init__()
        self.name = name
        self.raised = None

    def forward(self, x):
        self.raised = make_exception(self.name)
        raise self.raised


class Residual(nn.Module):
    """x + layers(x), with its layers in a ModuleList and a spare Dropout that forward never calls."""

    def __init__(self, layers) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.spare = nn.Dropout(0.5)

    def forward(self, x):
        y = x
        for layer in self.layers:
            y = layer(y)
        return x + y


class Scaled(nn.Sequential):
    """A subclass of a built-in container: Sequential, then times 0.5."""

    def forward(self, x):
        return super().forward(x) * 0.5


def build(node, width):
    kind, train, children = node
    if kind == "seq":
        module = nn.Sequential(*[build(child, width) for child in children])
    elif kind == "scaled":
        module = Scaled(*[build(child, width) for child in children])
    elif kind == "residual":
        module = Residual([build(child, width) for child in children])
        module.layers.training = train
        module.spare.training = not train
    elif kind == "linear":
        module = nn.Linear(width, width)
    elif kind == "linear_nobias":
        module = nn.Linear(width, width, bias=False)
    elif kind == "bn":
        module = nn.BatchNorm1d(width)
    elif kind == "dropout":
        module = nn.Dropout(0.5)
    elif kind == "relu":
        module = nn.ReLU()
    elif kind == "spy":
        module = Spy()
    else:
        raise ValueError(kind)
    module.training = train  # this module's own flag only: the children keep theirs
    return module


def build_model(desc, raising=None):
    """The model a description stands for; with `raising`, a Raiser runs after it."""
    model = build(desc["root"], desc["width"])
    if raising is not None:
        top = model.training
        model = nn.Sequential(OrderedDict(body=model, boom=Raiser(raising)))
        model.training = top
    return model


def flags(model):
    return {name: bool(module.training) for name, module in model.named_modules()}


def spies(model):
    return [module.calls for module in model.modules() if isinstance(module, Spy)]


def has_history(value):
    return bool(isinstance(value, torch.Tensor) and (value.requires_grad or value.grad_fn is not None))


def observe_tensor(value):
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def observe_exception(caught, thrown):
    if caught is None:
        return None
    return {"types": [cls.__name__ for cls in type(caught).__mro__], "type": type(caught).__name__,
            "message": str(caught)[:300], "same": thrown is not None and caught is thrown}


def model_for(desc, state, x, raising=None):
    model = build_model(desc, raising).to(device=x.device, dtype=x.dtype)
    model.load_state_dict(state)
    return model


# ------------------------------------------------------------------------------------------ probes


@probe
def run_predict(impl, desc, state, x, caller_grad=True, raising=None):
    model = model_for(desc, state, x, raising)
    x_before = x.clone()
    thrown = model.boom if raising is not None else None
    outs, caught = [], None
    torch.set_grad_enabled(caller_grad)
    try:
        for _ in range(1 if raising else 2):
            outs.append(impl.predict(model, x))
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt and SystemExit are observed too
        if raising is None or isinstance(exc, NotImplementedError):
            raise
        caught = exc
    grad_after = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    return {
        "outs": [observe_tensor(out) for out in outs],
        "history": [has_history(out) for out in outs],
        "flags": flags(model),
        "grad_after": grad_after,
        "x_changed": not torch.equal(x, x_before),
        "buffers": snapshot(dict(model.named_buffers())),
        "spies": spies(model),
        "raised": observe_exception(caught, thrown and thrown.raised),
    }


@probe
def run_evaluating(impl, desc, state, x, caller_grad=True, body=("forward",), raising=None):
    """`with evaluating(model) as m:` running `body`: forward, train, eval, flip (a submodule), raise."""
    model = model_for(desc, state, x, raising if "forward_raises" in body else None)
    seen = {"yielded_model": None, "inside_flags": None, "inside_grad": None, "out": None, "history": None}
    thrown, caught = None, None
    torch.set_grad_enabled(caller_grad)
    try:
        with impl.evaluating(model) as m:
            seen["yielded_model"] = m is model
            seen["inside_flags"] = flags(model)
            seen["inside_grad"] = torch.is_grad_enabled()
            for step in body:
                if step == "forward":
                    out = model(x)
                    seen["out"], seen["history"] = observe_tensor(out), has_history(out)
                elif step == "forward_raises":
                    thrown = model.boom
                    model(x)
                elif step == "train":
                    model.train()
                elif step == "eval":
                    model.eval()
                elif step == "flip":
                    for module in list(model.modules())[1::2]:
                        module.training = not module.training
                elif step == "raise":
                    thrown = make_exception(raising)
                    raise thrown
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt and SystemExit are observed too
        if raising is None or isinstance(exc, NotImplementedError):
            raise
        caught = exc
    if isinstance(thrown, Raiser):
        thrown = thrown.raised
    grad_after = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    seen.update({
        "flags": flags(model),
        "grad_after": grad_after,
        "buffers": snapshot(dict(model.named_buffers())),
        "spies": spies(model),
        "raised": observe_exception(caught, thrown),
        "suppressed": raising is not None and caught is None,
    })
    return seen


@probe
def run_nested(impl, desc, state, x, caller_grad=True):
    model = model_for(desc, state, x)
    torch.set_grad_enabled(caller_grad)
    with impl.evaluating(model):
        with impl.evaluating(model):
            pass
        between = {"flags": flags(model), "grad": torch.is_grad_enabled()}
        out = model(x)
        between["out"], between["history"] = observe_tensor(out), has_history(out)
    after = {"flags": flags(model), "grad": torch.is_grad_enabled()}
    torch.set_grad_enabled(True)
    return {"between": between, "after": after}


# ------------------------------------------------------------------------------------------ inputs

CONTAINERS = ("seq", "scaled", "residual")
LEAVES = ("linear", "linear_nobias", "bn", "dropout", "relu", "spy")
PATTERNS = ("training", "eval", "frozen", "mixed")


@st.composite
def nodes(draw, pattern, depth=0):
    kinds = CONTAINERS if depth == 0 else (CONTAINERS + LEAVES if depth < 2 else LEAVES)
    kind = draw(st.sampled_from(kinds))
    frozen = pattern == "frozen" and kind != "bn"
    train = draw(st.booleans()) if pattern == "mixed" else pattern == "training" or frozen
    children = []
    if kind in CONTAINERS:
        children = draw(st.lists(nodes(pattern, depth + 1), min_size=1, max_size=3))
    return [kind, train, children]


@st.composite
def models(draw, patterns=PATTERNS, dtypes=TREE_DTYPES, layouts=("contiguous", "transposed", "sliced", "expanded")):
    """A model description, its state (random weights and BatchNorm statistics) and an input of shape (N, width)."""
    pattern = draw(st.sampled_from(patterns))
    width = draw(sizes(1, 5))
    desc = {"width": width, "root": draw(nodes(pattern))}
    xs = draw(tensors((width,), min_leading=1, max_leading=1, dtypes=dtypes, layouts=layouts))
    seed = draw(st.integers(0, 2**16))
    return pattern, desc, xs, seed


def state_for(desc, dtype, device, seed, raising=None):
    """The judge's copy of the model, with random parameters and running statistics, and its state_dict."""
    generator = torch.Generator().manual_seed(seed)
    model = build_model(desc, raising)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith("num_batches_tracked"):
                tensor.fill_(int(torch.randint(0, 50, (), generator=generator)))
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
    model = model.to(device=device, dtype=dtype)
    return model, model.state_dict()


def eval_output(model, x):
    reference = copy.deepcopy(model).eval()
    with torch.no_grad():
        return reference(x)


def words(pattern, desc):
    kinds = {
        "training": "a model in training mode",
        "eval": "a model in eval mode",
        "frozen": "a training model with frozen BatchNorms",
        "mixed": "a model with mixed train/eval submodules",
    }
    return f"{kinds[pattern]} ({count(desc['root'])} modules, {depth(desc['root'])} levels)"


def count(node):
    return 1 + sum(count(child) for child in node[2])


def depth(node):
    return 1 + max((depth(child) for child in node[2]), default=0)


def kind_of(model, name):
    module = model.get_submodule(name)
    kind = type(module).__name__
    return f"the model itself ({kind})" if not name else f"submodule '{name}' ({kind})"


def check_flags(got, model, when, why):
    """Every submodule's training flag must be the one the judge's copy has."""
    expected = flags(model)
    if sorted(got) != sorted(expected):
        fail(f"{when}, the model's submodules changed: expected {sorted(expected)}, found {sorted(got)}.")
    changed = [name for name in expected if got[name] != expected[name]]
    if not changed:
        return
    flipped_on = [name for name in changed if got[name]]
    if flipped_on and why in (RESTORE, FINALLY, FINALLY + BASE):
        why = SEED if not expected[""] else FROZEN
    parts = [
        f"{kind_of(model, name)} was in eval mode and was switched to training mode"
        if got[name]
        else f"{kind_of(model, name)} was in training mode and was left in eval mode"
        for name in changed[:2]
    ]
    more = f" (and {len(changed) - 2} more)" if len(changed) > 2 else ""
    fail(f"{when}, the training flags are not restored exactly: {'; '.join(parts)}{more}. {why}")


def check_inside_eval(inside, model, when):
    if inside is None:
        fail(f"{when}: the body of the with-block never ran.")
    still = [name for name, flag in inside.items() if flag]
    if still:
        fail(f"{when}, {kind_of(model, still[0])} is still in training mode: every submodule must be in eval "
             "mode. model.training = False changes only the top module; model.eval() sets every submodule.")


def check_spies(calls, when):
    """Every Spy in the model must have run in eval mode with autograd off."""
    for spy in calls:
        for training, grad in spy:
            if training:
                fail(f"{when}, a module saw self.training == True during the forward: it must run in eval mode.")
            if grad:
                fail(f"{when}, the forward ran with autograd enabled (a module saw torch.is_grad_enabled() == True): "
                     f"it must run without autograd. {NO_GRAD}")


def check_buffers(got, model, when, why):
    expected = dict(model.named_buffers())
    if sorted(got) != sorted(expected):
        fail(f"{when}, the model's buffers changed: expected {sorted(expected)}, found {sorted(got)}.")
    for name, value in expected.items():
        assert_equal(got[name], value, f"BatchNorm buffer '{name}' {when}", why=why)


def check_grad_mode(got, caller_grad, when):
    if got == caller_grad:
        return
    if caller_grad:
        fail(f"autograd is still disabled {when}: grad mode must be restored. Use `with torch.no_grad():`, which "
             "restores it on exit, not torch.set_grad_enabled(False).")
    fail(f"autograd was switched on {when}, although the caller had it disabled (under torch.no_grad()): restore "
         "the grad mode the caller had, do not force it on. `with torch.no_grad():` does that by itself.")


def check_raised(raised, name, suppressed, what):
    if suppressed or raised is None:
        fail(f"{what} raised {name}, but it did not come out: the exception was swallowed. Restore the flags in "
             "finally: and let the exception propagate (do not catch it without re-raising, do not return True "
             "from __exit__).")
    if not raised["same"]:
        fail(f"{what} raised {name}, but {raised['type']}: {raised['message']} came out instead: let the very "
             "exception propagate unchanged (re-raise it with a bare `raise`, or do not catch it at all).")


def seen_by_evaluating(kata, case, device, **kwargs):
    pattern, desc, xs, seed = case
    x = xs.make(device)
    raising = kwargs.get("raising") if "forward_raises" in kwargs.get("body", ()) else None
    model, state = state_for(desc, x.dtype, device, seed, raising)
    seen = kata.run(run_evaluating, desc, state, x, doing="a `with evaluating(model):` block", why=MANAGER, **kwargs)
    return model, x, seen


# ------------------------------------------------------------------------------------------ specs: predict


@given(case=models())
def test_predict_returns_the_eval_mode_output(kata, device, case):
    """predict(model, x) equals the model's output in eval mode, twice in a row, and leaves x alone."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed)
    seen = kata.run(run_predict, desc, state, x, doing=f"predict on {words(pattern, desc)}")
    what = f"predict(model, x) for {words(pattern, desc)} on {xs.describe()}"
    expected = eval_output(model, x)
    assert_close(seen["outs"][0], expected, what, why="Expected model(x) computed with every submodule in eval mode.")
    assert_close(seen["outs"][1], expected, f"a second {what}", why="predict must leave the model as it found it.")
    if seen["x_changed"]:
        fail(f"{what} modified x in place: never write into the caller's input.")


@given(xs=tensors((), min_leading=1, max_leading=3, dtypes=FLOAT_DTYPES), nested=st.booleans())
@examples(8)
def test_predict_turns_dropout_off(kata, device, xs, nested):
    """In predict, a Dropout (nested or not) passes its input of any shape and dtype through unchanged."""
    desc = {"width": 1, "root": ["seq", True, [["seq", True, [["dropout", True, []]]] if nested else
                                                ["dropout", True, []]]]}
    x = xs.make(device)
    _, state = state_for(desc, x.dtype, device, 0)
    seen = kata.run(run_predict, desc, state, x, doing="predict on a Dropout in training mode")
    assert_equal(seen["outs"][0], x, f"predict(model, x) of a model that is only a Dropout, on {xs.describe()}",
                 why="Dropout is still active: call model.eval() first, so every Dropout layer is switched off.")


@given(case=models(patterns=("training", "frozen")), nested=st.booleans())
@examples(8)
def test_predict_normalises_with_batchnorm_running_statistics(kata, device, case, nested):
    """In predict, BatchNorm normalises with running_mean/running_var, not the batch's own statistics."""
    _, desc, xs, seed = case
    bn = ["bn", True, []]
    desc = {"width": desc["width"], "root": ["seq", True, [["seq", True, [bn]] if nested else bn]]}
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed)
    norm = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    expected = (x - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
    seen = kata.run(run_predict, desc, state, x, doing="predict on a BatchNorm1d in training mode")
    assert_close(seen["outs"][0], expected.detach(), f"predict(model, x) of a BatchNorm1d on {xs.describe()}",
                 why="In eval mode BatchNorm uses its running statistics; in training mode it uses the batch's own.")


@given(case=models(patterns=("training", "frozen", "mixed")))
@examples(8)
def test_predict_leaves_batchnorm_running_statistics_untouched(kata, device, case):
    """predict does not update BatchNorm's running_mean, running_var or num_batches_tracked."""
    pattern, desc, xs, seed = case
    desc = {"width": desc["width"], "root": ["seq", True, [desc["root"], ["bn", True, []]]]}
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed)
    seen = kata.run(run_predict, desc, state, x, doing=f"predict on {words(pattern, desc)}")
    check_buffers(seen["buffers"], model, "after predict",
                  "BatchNorm running statistics changed: in training mode every forward updates them; predict must "
                  "run in eval mode so they stay untouched.")


@given(case=models(), caller_grad=st.booleans())
@examples(8)
def test_predict_runs_the_forward_without_autograd(kata, device, case, caller_grad):
    """The model's forward runs with autograd off and in eval mode; the output carries no autograd history."""
    pattern, desc, xs, seed = case
    desc = {"width": desc["width"], "root": ["seq", desc["root"][1], [desc["root"], ["spy", True, []]]]}
    x = xs.make(device)
    _, state = state_for(desc, x.dtype, device, seed)
    seen = kata.run(run_predict, desc, state, x, caller_grad, doing=f"predict on {words(pattern, desc)}")
    if any(seen["history"]):
        fail(f"predict's output for {words(pattern, desc)} carries autograd history. {NO_GRAD}")
    if not any(seen["spies"]):
        fail("predict never called the model's forward.")
    check_spies(seen["spies"], "in predict")


@given(case=models(), caller_grad=st.booleans())
@examples(8)
def test_predict_keeps_the_callers_grad_mode(kata, device, case, caller_grad):
    """After predict returns, grad mode is what the caller had: enabled, or disabled under torch.no_grad()."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    _, state = state_for(desc, x.dtype, device, seed)
    seen = kata.run(run_predict, desc, state, x, caller_grad, doing=f"predict on {words(pattern, desc)}")
    check_grad_mode(seen["grad_after"], caller_grad, "after predict returned")


@given(case=models())
def test_predict_restores_every_training_flag_exactly(kata, device, case):
    """After predict, every submodule's training flag is what it was: training, eval, frozen BatchNorm or mixed."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed)
    seen = kata.run(run_predict, desc, state, x, doing=f"predict on {words(pattern, desc)}")
    check_flags(seen["flags"], model, f"after predict on {words(pattern, desc)}", RESTORE)


@given(case=models(), raising=st.sampled_from(EXCEPTIONS))
@examples(10)
def test_predict_lets_the_models_exception_through(kata, device, case, raising):
    """When the model's forward raises (an Exception or a BaseException), that very exception comes out of predict."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    _, state = state_for(desc, x.dtype, device, seed, raising)
    seen = kata.run(run_predict, desc, state, x, True, raising, doing="predict on a model whose forward raises")
    check_raised(seen["raised"], raising, False, "the model's forward inside predict")


@given(case=models(), raising=st.sampled_from(EXCEPTIONS), caller_grad=st.booleans())
@examples(12)
def test_predict_restores_the_state_when_the_model_raises(kata, device, case, raising, caller_grad):
    """When the model's forward raises, even a KeyboardInterrupt, predict still restores every flag and grad mode."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed, raising)
    seen = kata.run(run_predict, desc, state, x, caller_grad, raising, doing="predict on a model whose forward raises")
    when = f"after the model's forward raised {raising} inside predict"
    check_flags(seen["flags"], model, when, FINALLY + (BASE if raising in ("KeyboardInterrupt", "SystemExit",
                                                                             "Halt") else ""))
    check_grad_mode(seen["grad_after"], caller_grad, when)


# ------------------------------------------------------------------------------------------ specs: evaluating


@given(case=models())
@examples(6)
def test_evaluating_yields_the_model_itself(kata, device, case):
    """`with evaluating(model) as m:` binds m to the model itself."""
    _, _, seen = seen_by_evaluating(kata, case, device, body=())
    if not seen["yielded_model"]:
        fail("`with evaluating(model) as m:` gave m something else than the model: yield the model itself.")


@given(case=models())
def test_evaluating_puts_every_submodule_in_eval_mode_inside(kata, device, case):
    """Inside the with-block every submodule, nested ones included, is in eval mode, and so is the forward."""
    pattern, desc, xs, seed = case
    model, x, seen = seen_by_evaluating(kata, case, device)
    when = f"inside evaluating() on {words(pattern, desc)}"
    check_inside_eval(seen["inside_flags"], model, when)
    check_spies([[[training, False] for training, _ in spy] for spy in seen["spies"]], when)
    assert_close(seen["out"], eval_output(model, x), f"model(x) {when}, on {xs.describe()}",
                 why="Expected model(x) computed with every submodule in eval mode.")


@given(xs=tensors((), min_leading=1, max_leading=3, dtypes=FLOAT_DTYPES), nested=st.booleans())
@examples(6)
def test_evaluating_turns_dropout_off_inside(kata, device, xs, nested):
    """Inside the with-block, a Dropout passes its input of any shape and dtype through unchanged."""
    root = ["seq", True, [["seq", True, [["dropout", True, []]]] if nested else ["dropout", True, []]]]
    desc = {"width": 1, "root": root}
    _, x, seen = seen_by_evaluating(kata, ("training", desc, xs, 0), device)
    assert_equal(seen["out"], x, f"model(x) inside evaluating() for a model that is only a Dropout, on {xs.describe()}",
                 why="Dropout is still active: call model.eval(), which switches off every Dropout layer.")


@given(case=models(patterns=("training", "frozen", "mixed")))
@examples(8)
def test_evaluating_leaves_batchnorm_running_statistics_untouched_inside(kata, device, case):
    """A forward inside the with-block does not update BatchNorm's running statistics."""
    pattern, desc, xs, seed = case
    desc = {"width": desc["width"], "root": ["seq", True, [desc["root"], ["bn", True, []]]]}
    model, _, seen = seen_by_evaluating(kata, (pattern, desc, xs, seed), device)
    check_buffers(seen["buffers"], model, "after a forward inside evaluating()",
                  "BatchNorm running statistics changed: BatchNorm is still in training mode inside the block.")


@given(case=models(), caller_grad=st.booleans())
@examples(8)
def test_evaluating_disables_autograd_inside(kata, device, case, caller_grad):
    """Inside the with-block autograd is off: torch.is_grad_enabled() is False and outputs carry no history."""
    pattern, desc, xs, seed = case
    _, _, seen = seen_by_evaluating(kata, case, device, caller_grad=caller_grad)
    if seen["inside_grad"] or seen["history"]:
        fail(f"inside evaluating() on {words(pattern, desc)}, autograd is still on: model(x) carries autograd "
             f"history. evaluating() must disable autograd for the block. {NO_GRAD}")
    check_spies(seen["spies"], "inside evaluating()")


@given(case=models())
def test_evaluating_restores_every_training_flag_exactly(kata, device, case):
    """After the with-block, every submodule's training flag is what it was: training, eval, frozen or mixed."""
    pattern, desc, _, _ = case
    model, _, seen = seen_by_evaluating(kata, case, device)
    check_flags(seen["flags"], model, f"after leaving evaluating() on {words(pattern, desc)}", RESTORE)


@given(case=models(), body=st.sampled_from([("train",), ("flip",), ("forward", "train"), ("train", "flip"),
                                            ("eval",)]))
@examples(8)
def test_evaluating_undoes_flag_changes_made_in_the_block(kata, device, case, body):
    """Whatever the block does to the flags (model.train(), flipping submodules), leaving it restores the originals."""
    pattern, desc, _, _ = case
    model, _, seen = seen_by_evaluating(kata, case, device, body=body)
    done = {"train": "model.train()", "flip": "switching some submodules", "forward": "model(x)",
            "eval": "model.eval()"}
    check_flags(seen["flags"], model, f"after a block that ran {', '.join(done[s] for s in body)} on "
                f"{words(pattern, desc)}",
                "Set every submodule back to the flag recorded before the block, also those the block changed: "
                "restore every recorded flag, not only the ones eval() switched.")


@given(case=models(), caller_grad=st.booleans())
@examples(8)
def test_evaluating_restores_the_callers_grad_mode(kata, device, case, caller_grad):
    """After the with-block, grad mode is what the caller had: enabled, or disabled under torch.no_grad()."""
    _, _, seen = seen_by_evaluating(kata, case, device, caller_grad=caller_grad)
    check_grad_mode(seen["grad_after"], caller_grad, "after leaving evaluating()")


@given(case=models(), raising=st.sampled_from(EXCEPTIONS), where=st.sampled_from(["raise", "forward_raises"]))
@examples(10)
def test_evaluating_lets_the_exception_propagate(kata, device, case, raising, where):
    """An exception raised in the block, or by the model in it (even a KeyboardInterrupt), comes out unchanged."""
    _, _, seen = seen_by_evaluating(kata, case, device, body=(where,), raising=raising)
    what = "the with-block" if where == "raise" else "the model's forward inside the with-block"
    check_raised(seen["raised"], raising, seen["suppressed"], what)


@given(case=models(), raising=st.sampled_from(EXCEPTIONS), where=st.sampled_from(["raise", "forward_raises"]),
       caller_grad=st.booleans())
@examples(12)
def test_evaluating_restores_the_state_when_the_block_raises(kata, device, case, raising, where, caller_grad):
    """When the block raises, even a KeyboardInterrupt, every training flag and the grad mode are restored."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed, raising if where == "forward_raises" else None)
    seen = kata.run(run_evaluating, desc, state, x, caller_grad, (where,), raising,
                    doing="a `with evaluating(model):` block", why=MANAGER)
    when = f"after {raising} left the evaluating() block on {words(pattern, desc)}"
    check_flags(seen["flags"], model, when, FINALLY + (BASE if raising in ("KeyboardInterrupt", "SystemExit",
                                                                             "Halt") else ""))
    check_grad_mode(seen["grad_after"], caller_grad, when)


@given(case=models(), caller_grad=st.booleans())
@examples(8)
def test_nested_evaluating_blocks_restore_each_level(kata, device, case, caller_grad):
    """Leaving an inner block keeps the outer block's eval mode and no-grad; leaving the outer one restores all."""
    pattern, desc, xs, seed = case
    x = xs.make(device)
    model, state = state_for(desc, x.dtype, device, seed)
    seen = kata.run(run_nested, desc, state, x, caller_grad, doing="nested `with evaluating(model):` blocks",
                    why=MANAGER)
    between = seen["between"]
    training = [name for name, flag in between["flags"].items() if flag]
    if training:
        fail(f"after leaving an inner evaluating() block, still inside the outer one, {kind_of(model, training[0])} "
             "is in training mode: the inner block must restore the flags it found (all eval), not call "
             "model.train(). " + RESTORE)
    if between["grad"] or between["history"]:
        fail("after leaving an inner evaluating() block, still inside the outer one, autograd is on again: the "
             "inner block must restore the grad mode it found (off).")
    assert_close(between["out"], eval_output(model, x), "model(x) inside the outer block, after the inner one",
                 why="Expected model(x) computed in eval mode.")
    check_flags(seen["after"]["flags"], model, "after leaving both nested evaluating() blocks", RESTORE)
    check_grad_mode(seen["after"]["grad"], caller_grad, "after leaving both nested evaluating() blocks")
