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

from kata_runner.asserts import assert_close, assert_equal, each, fail
from kata_runner.draw import FLOAT_DTYPES, LAYOUTS, TensorSpec, batches, examples, given, sizes, st
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
# These run in the subject, next to the learner's code. They observe; the specs below decide. Each takes a
# batch of cases, so that one round trip judges several drawn inputs.

RAISED = "the learner's code raised: run this case alone"


def observe_each(cases, observe):
    """observe(case) for each case. When the learner's code raises in a batch of several cases, the batch stops
    there and ends with RAISED: the judge then runs that case alone, so that the error it reports names it."""
    seen = []
    for case in cases:
        try:
            seen.append(observe(case))
        except NotImplementedError:
            raise  # an untouched stub is graded "not started"
        except Exception:
            if len(cases) == 1:
                raise
            seen.append(RAISED)
            break
    return seen


@probe
def run_predict(impl, cases):
    """predict(model, x) for each case {desc, state, x, caller_grad, raising}."""
    return observe_each(cases, lambda case: _predict(impl, **case))


def _predict(impl, desc, state, x, caller_grad=True, raising=None):
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
def run_evaluating(impl, cases):
    """`with evaluating(model) as m:` running `body` for each case {desc, state, x, caller_grad, body, raising}."""
    return observe_each(cases, lambda case: _evaluating(impl, **case))


def _evaluating(impl, desc, state, x, caller_grad=True, body=("forward",), raising=None):
    """The body's steps: forward, forward_raises, train, eval, flip (some submodules), raise."""
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
def run_nested(impl, cases):
    """Two nested `with evaluating(model):` blocks for each case {desc, state, x, caller_grad}."""
    return observe_each(cases, lambda case: _nested(impl, **case))


def _nested(impl, desc, state, x, caller_grad=True):
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
# Constant strategies are built once, here: a strategy built inside a composite costs its validation on
# every draw.

CONTAINERS = ("seq", "scaled", "residual")
LEAVES = ("linear", "linear_nobias", "bn", "dropout", "relu", "spy")
PATTERNS = ("training", "eval", "frozen", "mixed")

BOOLS = st.booleans()
SEEDS = st.integers(0, 2**16)
WIDTHS = sizes(1, 5)
CHILD_COUNTS = st.integers(1, 3)
NODE_KINDS = [st.sampled_from(CONTAINERS), st.sampled_from(CONTAINERS + LEAVES), st.sampled_from(LEAVES)]
TREE_DTYPE_CHOICES = st.sampled_from(TREE_DTYPES)
RAISING = st.sampled_from(EXCEPTIONS)
LAYOUT_CHOICES = {}  # filled by _layouts(), one strategy per set of layouts


def node(draw, pattern, depth=0):
    kind = draw(NODE_KINDS[min(depth, 2)])
    frozen = pattern == "frozen" and kind != "bn"
    train = draw(BOOLS) if pattern == "mixed" else pattern == "training" or frozen
    children = []
    if kind in CONTAINERS:
        children = [node(draw, pattern, depth + 1) for _ in range(draw(CHILD_COUNTS))]
    return [kind, train, children]


def _layouts(shape):
    """A strategy for the layouts draw.tensors allows for this shape."""
    fits = {"contiguous": True, "transposed": len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1,
            "sliced": len(shape) >= 1 and shape[-1] > 0, "expanded": len(shape) >= 2 and shape[0] > 1}
    allowed = tuple(layout for layout in LAYOUTS if fits[layout])
    if allowed not in LAYOUT_CHOICES:
        LAYOUT_CHOICES[allowed] = st.sampled_from(allowed)
    return LAYOUT_CHOICES[allowed]


def tensor_spec(draw, leading, trailing, dtypes):
    """What draw.tensors(trailing, ...) draws, from strategies built once: `leading` draws the leading sizes,
    `dtypes` the dtype."""
    shape = (*draw(leading), *trailing)
    return TensorSpec(shape, draw(dtypes), draw(_layouts(shape)), draw(SEEDS))


BATCH_SIZES = st.lists(sizes(1, 5), min_size=1, max_size=1)  # inputs of shape (N, width)


def models(patterns=PATTERNS):
    """Draws (pattern, a model description, an input spec of shape (N, width), a seed for the model's state)."""
    pattern_choices = st.sampled_from(patterns)

    @st.composite
    def model_cases(draw):
        pattern = draw(pattern_choices)
        width = draw(WIDTHS)
        desc = {"width": width, "root": node(draw, pattern)}
        xs = tensor_spec(draw, BATCH_SIZES, (width,), TREE_DTYPE_CHOICES)
        return pattern, desc, xs, draw(SEEDS)

    return model_cases()


DROPOUT_SHAPES = st.lists(sizes(1, 5), min_size=1, max_size=3)
FLOAT_DTYPE_CHOICES = st.sampled_from(FLOAT_DTYPES)


@st.composite
def dropout_inputs(draw):
    """An input of 1 to 3 dimensions in any float dtype and layout, for a model that is only a Dropout."""
    return tensor_spec(draw, DROPOUT_SHAPES, (), FLOAT_DTYPE_CHOICES)


MODELS = models()


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


def count(node_):
    return 1 + sum(count(child) for child in node_[2])


def depth(node_):
    return 1 + max((depth(child) for child in node_[2]), default=0)


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


# ------------------------------------------------------------------------------------------ judging


class Case:
    """One drawn case, built on the spec's device: the judge's copy of the model, its state_dict, the input, and
    the case in words. `wrap` turns the drawn root into the one the spec needs; `raising` adds a Raiser."""

    def __init__(self, drawn, device, wrap=None, raising=None):
        self.pattern, desc, self.xs, seed = drawn
        self.desc = desc if wrap is None else {"width": desc["width"], "root": wrap(desc["root"])}
        self.x = self.xs.make(device)
        self.model, self.state = state_for(self.desc, self.x.dtype, device, seed, raising)
        self.words = words(self.pattern, self.desc)

    def sent(self, **options):
        """What a probe gets for this case."""
        return {"desc": self.desc, "state": self.state, "x": self.x, **options}


def run_each(kata, probe_, cases, sent, doings, why=""):
    """[(case, what the subject observed for it)] for a batch, in one round trip; when the learner's code raised
    in one case, that case runs again alone, so that the error names it (doings[i])."""
    return each(cases, _observed(kata, probe_, sent, doings, why))


def _observed(kata, probe_, sent, doings, why):
    more = f" (and {len(sent) - 1} more drawn case(s))" if len(sent) > 1 else ""
    seen = kata.run(probe_, sent, doing=doings[0] + more, why=why)
    if type(seen) is list and 0 < len(seen) <= len(sent) and isinstance(seen[-1], str) and seen[-1] == RAISED:
        failed = len(seen) - 1
        alone = kata.run(probe_, sent[failed:failed + 1], doing=doings[failed], why=why)  # raises, naming the case
        rest = _observed(kata, probe_, sent[failed + 1:], doings[failed + 1:], why) if failed + 1 < len(sent) else []
        if type(alone) is not list or type(rest) is not list:
            return alone  # malformed: each() says so
        return seen[:failed] + alone + rest
    return seen


def predict_each(kata, cases, why="", **options):
    """predict on each case; `options` (caller_grad, raising) are lists, one value per case."""
    sent = [case.sent(**{k: v[i] for k, v in options.items()}) for i, case in enumerate(cases)]
    return run_each(kata, run_predict, cases, sent, [f"predict on {case.words}" for case in cases], why)


def evaluating_each(kata, cases, **options):
    """A `with evaluating(model):` block on each case; `options` (caller_grad, body, raising) are lists, one value
    per case."""
    sent = [case.sent(**{k: v[i] for k, v in options.items()}) for i, case in enumerate(cases)]
    doings = [f"a `with evaluating(model):` block on {case.words}" for case in cases]
    return run_each(kata, run_evaluating, cases, sent, doings, MANAGER)


def with_bn(root):
    return ["seq", True, [root, ["bn", True, []]]]


def with_spy(root):
    return ["seq", root[1], [root, ["spy", True, []]]]


def only_dropout(nested):
    dropout = ["dropout", True, []]
    return {"width": 1, "root": ["seq", True, [["seq", True, [dropout]] if nested else dropout]]}


def only_batchnorm(nested):
    bn = ["bn", True, []]
    return lambda root: ["seq", True, [["seq", True, [bn]] if nested else bn]]


def is_base(raising):
    return raising in ("KeyboardInterrupt", "SystemExit", "Halt")


def eval_models_first(drawn):
    """The drawn cases, those whose model is in eval mode first, smaller models first: when several cases of a
    batch fail, the one reported is the seed notebook's mistake (an eval model switched back to training) if the
    batch shows it, on the smallest model."""

    def key(item):
        _, desc, _, _ = item if isinstance(item[0], str) else item[0]
        return desc["root"][1], count(desc["root"])

    return sorted(drawn, key=key)


# ------------------------------------------------------------------------------------------ specs: predict
# Each spec draws a batch of cases (`batches`) and judges them with one round trip; every message names the
# case that failed (the model in words, the input, the caller's grad mode, the exception).


@given(drawn=batches(MODELS))
@examples(3)
def test_predict_returns_the_eval_mode_output(kata, device, drawn):
    """predict(model, x) equals the model's output in eval mode, twice in a row, and leaves x alone."""
    cases = [Case(d, device) for d in drawn]
    for case, seen in predict_each(kata, cases):
        what = f"predict(model, x) for {case.words} on {case.xs.describe()}"
        expected = eval_output(case.model, case.x)
        assert_close(seen["outs"][0], expected, what,
                     why="Expected model(x) computed with every submodule in eval mode.")
        assert_close(seen["outs"][1], expected, f"a second {what}", why="predict must leave the model as it found it.")
        if seen["x_changed"]:
            fail(f"{what} modified x in place: never write into the caller's input.")


@given(drawn=batches(st.tuples(dropout_inputs(), BOOLS)))
@examples(3)
def test_predict_turns_dropout_off(kata, device, drawn):
    """In predict, a Dropout (nested or not) passes its input of any shape and dtype through unchanged."""
    cases = [Case(("training", only_dropout(nested), xs, 0), device) for xs, nested in drawn]
    sent = [case.sent() for case in cases]
    doings = [f"predict on a Dropout in training mode, on {case.xs.describe()}" for case in cases]
    for case, seen in run_each(kata, run_predict, cases, sent, doings):
        assert_equal(seen["outs"][0], case.x, f"predict(model, x) of a model that is only a Dropout, on "
                     f"{case.xs.describe()}",
                     why="Dropout is still active: call model.eval() first, so every Dropout layer is switched off.")


@given(drawn=batches(st.tuples(models(patterns=("training", "frozen")), BOOLS)))
@examples(3)
def test_predict_normalises_with_batchnorm_running_statistics(kata, device, drawn):
    """In predict, BatchNorm normalises with running_mean/running_var, not the batch's own statistics."""
    cases = [Case(d, device, wrap=only_batchnorm(nested)) for d, nested in drawn]
    sent = [case.sent() for case in cases]
    doings = [f"predict on a BatchNorm1d in training mode, on {case.xs.describe()}" for case in cases]
    for case, seen in run_each(kata, run_predict, cases, sent, doings):
        norm = next(m for m in case.model.modules() if isinstance(m, nn.BatchNorm1d))
        expected = (case.x - norm.running_mean) / torch.sqrt(norm.running_var + norm.eps) * norm.weight + norm.bias
        assert_close(seen["outs"][0], expected.detach(), f"predict(model, x) of a BatchNorm1d on {case.xs.describe()}",
                     why="In eval mode BatchNorm uses its running statistics; in training mode it uses the batch's "
                     "own.")


@given(drawn=batches(models(patterns=("training", "frozen", "mixed"))))
@examples(3)
def test_predict_leaves_batchnorm_running_statistics_untouched(kata, device, drawn):
    """predict does not update BatchNorm's running_mean, running_var or num_batches_tracked."""
    cases = [Case(d, device, wrap=with_bn) for d in drawn]
    for case, seen in predict_each(kata, cases):
        check_buffers(seen["buffers"], case.model, f"after predict on {case.words}",
                      "BatchNorm running statistics changed: in training mode every forward updates them; predict "
                      "must run in eval mode so they stay untouched.")


@given(drawn=batches(st.tuples(MODELS, BOOLS)))
@examples(3)
def test_predict_runs_the_forward_without_autograd(kata, device, drawn):
    """The model's forward runs with autograd off and in eval mode; the output carries no autograd history."""
    cases = [Case(d, device, wrap=with_spy) for d, _ in drawn]
    for case, seen in predict_each(kata, cases, caller_grad=[grad for _, grad in drawn]):
        if any(seen["history"]):
            fail(f"predict's output for {case.words} carries autograd history. {NO_GRAD}")
        if not any(seen["spies"]):
            fail(f"predict on {case.words} never called the model's forward.")
        check_spies(seen["spies"], f"in predict on {case.words}")


@given(drawn=batches(st.tuples(MODELS, BOOLS)))
@examples(3)
def test_predict_keeps_the_callers_grad_mode(kata, device, drawn):
    """After predict returns, grad mode is what the caller had: enabled, or disabled under torch.no_grad()."""
    cases = [Case(d, device) for d, _ in drawn]
    grads = [grad for _, grad in drawn]
    for (case, seen), caller_grad in zip(predict_each(kata, cases, caller_grad=grads), grads):
        check_grad_mode(seen["grad_after"], caller_grad, f"after predict on {case.words} returned")


@given(drawn=batches(MODELS))
@examples(3)
def test_predict_restores_every_training_flag_exactly(kata, device, drawn):
    """After predict, every submodule's training flag is what it was: training, eval, frozen BatchNorm or mixed."""
    drawn = eval_models_first(drawn)
    cases = [Case(d, device) for d in drawn]
    for case, seen in predict_each(kata, cases):
        check_flags(seen["flags"], case.model, f"after predict on {case.words}", RESTORE)


@given(drawn=batches(st.tuples(MODELS, RAISING)))
@examples(3)
def test_predict_lets_the_models_exception_through(kata, device, drawn):
    """When the model's forward raises (an Exception or a BaseException), that very exception comes out of predict."""
    cases = [Case(d, device, raising=raising) for d, raising in drawn]
    raisings = [raising for _, raising in drawn]
    for (case, seen), raising in zip(predict_each(kata, cases, raising=raisings), raisings):
        check_raised(seen["raised"], raising, False, f"the model's forward inside predict (on {case.words})")


@given(drawn=batches(st.tuples(MODELS, RAISING, BOOLS)))
@examples(3)
def test_predict_restores_the_state_when_the_model_raises(kata, device, drawn):
    """When the model's forward raises, even a KeyboardInterrupt, predict still restores every flag and grad mode."""
    drawn = eval_models_first(drawn)
    cases = [Case(d, device, raising=raising) for d, raising, _ in drawn]
    raisings, grads = [raising for _, raising, _ in drawn], [grad for _, _, grad in drawn]
    for (case, seen), raising, caller_grad in zip(predict_each(kata, cases, caller_grad=grads, raising=raisings),
                                                  raisings, grads):
        when = f"after the model's forward raised {raising} inside predict on {case.words}"
        check_flags(seen["flags"], case.model, when, FINALLY + (BASE if is_base(raising) else ""))
        check_grad_mode(seen["grad_after"], caller_grad, when)


# ------------------------------------------------------------------------------------------ specs: evaluating


@given(drawn=batches(MODELS))
@examples(3)
def test_evaluating_yields_the_model_itself(kata, device, drawn):
    """`with evaluating(model) as m:` binds m to the model itself."""
    cases = [Case(d, device) for d in drawn]
    for case, seen in evaluating_each(kata, cases, body=[()] * len(cases)):
        if not seen["yielded_model"]:
            fail(f"`with evaluating(model) as m:` on {case.words} gave m something else than the model: yield the "
                 "model itself.")


@given(drawn=batches(MODELS))
@examples(3)
def test_evaluating_puts_every_submodule_in_eval_mode_inside(kata, device, drawn):
    """Inside the with-block every submodule, nested ones included, is in eval mode, and so is the forward."""
    cases = [Case(d, device) for d in drawn]
    for case, seen in evaluating_each(kata, cases):
        when = f"inside evaluating() on {case.words}"
        check_inside_eval(seen["inside_flags"], case.model, when)
        check_spies([[[training, False] for training, _ in spy] for spy in seen["spies"]], when)
        assert_close(seen["out"], eval_output(case.model, case.x), f"model(x) {when}, on {case.xs.describe()}",
                     why="Expected model(x) computed with every submodule in eval mode.")


@given(drawn=batches(st.tuples(dropout_inputs(), BOOLS)))
@examples(3)
def test_evaluating_turns_dropout_off_inside(kata, device, drawn):
    """Inside the with-block, a Dropout passes its input of any shape and dtype through unchanged."""
    cases = [Case(("training", only_dropout(nested), xs, 0), device) for xs, nested in drawn]
    for case, seen in evaluating_each(kata, cases):
        assert_equal(seen["out"], case.x, f"model(x) inside evaluating() for a model that is only a Dropout, on "
                     f"{case.xs.describe()}",
                     why="Dropout is still active: call model.eval(), which switches off every Dropout layer.")


@given(drawn=batches(models(patterns=("training", "frozen", "mixed"))))
@examples(3)
def test_evaluating_leaves_batchnorm_running_statistics_untouched_inside(kata, device, drawn):
    """A forward inside the with-block does not update BatchNorm's running statistics."""
    cases = [Case(d, device, wrap=with_bn) for d in drawn]
    for case, seen in evaluating_each(kata, cases):
        check_buffers(seen["buffers"], case.model, f"after a forward inside evaluating() on {case.words}",
                      "BatchNorm running statistics changed: BatchNorm is still in training mode inside the block.")


@given(drawn=batches(st.tuples(MODELS, BOOLS)))
@examples(3)
def test_evaluating_disables_autograd_inside(kata, device, drawn):
    """Inside the with-block autograd is off: torch.is_grad_enabled() is False and outputs carry no history."""
    cases = [Case(d, device) for d, _ in drawn]
    for case, seen in evaluating_each(kata, cases, caller_grad=[grad for _, grad in drawn]):
        if seen["inside_grad"] or seen["history"]:
            fail(f"inside evaluating() on {case.words}, autograd is still on: model(x) carries autograd "
                 f"history. evaluating() must disable autograd for the block. {NO_GRAD}")
        check_spies(seen["spies"], f"inside evaluating() on {case.words}")


@given(drawn=batches(MODELS))
@examples(3)
def test_evaluating_restores_every_training_flag_exactly(kata, device, drawn):
    """After the with-block, every submodule's training flag is what it was: training, eval, frozen or mixed."""
    drawn = eval_models_first(drawn)
    cases = [Case(d, device) for d in drawn]
    for case, seen in evaluating_each(kata, cases):
        check_flags(seen["flags"], case.model, f"after leaving evaluating() on {case.words}", RESTORE)


BODIES = st.sampled_from([("train",), ("flip",), ("forward", "train"), ("train", "flip"), ("eval",)])


@given(drawn=batches(st.tuples(MODELS, BODIES)))
@examples(3)
def test_evaluating_undoes_flag_changes_made_in_the_block(kata, device, drawn):
    """Whatever the block does to the flags (model.train(), flipping submodules), leaving it restores the originals."""
    drawn = eval_models_first(drawn)
    cases = [Case(d, device) for d, _ in drawn]
    bodies = [body for _, body in drawn]
    done = {"train": "model.train()", "flip": "switching some submodules", "forward": "model(x)",
            "eval": "model.eval()"}
    for (case, seen), body in zip(evaluating_each(kata, cases, body=bodies), bodies):
        check_flags(seen["flags"], case.model, f"after a block that ran {', '.join(done[s] for s in body)} on "
                    f"{case.words}",
                    "Set every submodule back to the flag recorded before the block, also those the block changed: "
                    "restore every recorded flag, not only the ones eval() switched.")


@given(drawn=batches(st.tuples(MODELS, BOOLS)))
@examples(3)
def test_evaluating_restores_the_callers_grad_mode(kata, device, drawn):
    """After the with-block, grad mode is what the caller had: enabled, or disabled under torch.no_grad()."""
    cases = [Case(d, device) for d, _ in drawn]
    grads = [grad for _, grad in drawn]
    for (case, seen), caller_grad in zip(evaluating_each(kata, cases, caller_grad=grads), grads):
        check_grad_mode(seen["grad_after"], caller_grad, f"after leaving evaluating() on {case.words}")


PLACES = st.sampled_from(["raise", "forward_raises"])


@given(drawn=batches(st.tuples(MODELS, RAISING, PLACES)))
@examples(3)
def test_evaluating_lets_the_exception_propagate(kata, device, drawn):
    """An exception raised in the block, or by the model in it (even a KeyboardInterrupt), comes out unchanged."""
    cases = [Case(d, device, raising=raising if where == "forward_raises" else None) for d, raising, where in drawn]
    raisings, bodies = [raising for _, raising, _ in drawn], [(where,) for _, _, where in drawn]
    for (case, seen), raising, (where,) in zip(evaluating_each(kata, cases, body=bodies, raising=raisings), raisings,
                                               bodies):
        what = "the with-block" if where == "raise" else "the model's forward inside the with-block"
        check_raised(seen["raised"], raising, seen["suppressed"], f"{what} (on {case.words})")


@given(drawn=batches(st.tuples(MODELS, RAISING, PLACES, BOOLS)))
@examples(3)
def test_evaluating_restores_the_state_when_the_block_raises(kata, device, drawn):
    """When the block raises, even a KeyboardInterrupt, every training flag and the grad mode are restored."""
    drawn = eval_models_first(drawn)
    cases = [Case(d, device, raising=raising if where == "forward_raises" else None) for d, raising, where, _ in drawn]
    raisings, grads = [raising for _, raising, _, _ in drawn], [grad for _, _, _, grad in drawn]
    bodies = [(where,) for _, _, where, _ in drawn]
    observed = evaluating_each(kata, cases, caller_grad=grads, body=bodies, raising=raisings)
    for (case, seen), raising, caller_grad in zip(observed, raisings, grads):
        when = f"after {raising} left the evaluating() block on {case.words}"
        check_flags(seen["flags"], case.model, when, FINALLY + (BASE if is_base(raising) else ""))
        check_grad_mode(seen["grad_after"], caller_grad, when)


@given(drawn=batches(st.tuples(MODELS, BOOLS)))
@examples(3)
def test_nested_evaluating_blocks_restore_each_level(kata, device, drawn):
    """Leaving an inner block keeps the outer block's eval mode and no-grad; leaving the outer one restores all."""
    drawn = eval_models_first(drawn)
    cases = [Case(d, device) for d, _ in drawn]
    grads = [grad for _, grad in drawn]
    sent = [case.sent(caller_grad=grad) for case, grad in zip(cases, grads)]
    doings = [f"nested `with evaluating(model):` blocks on {case.words}" for case in cases]
    for (case, seen), caller_grad in zip(run_each(kata, run_nested, cases, sent, doings, MANAGER), grads):
        between = seen["between"]
        training = [name for name, flag in between["flags"].items() if flag]
        inner = f"after leaving an inner evaluating() block on {case.words}, still inside the outer one"
        if training:
            fail(f"{inner}, {kind_of(case.model, training[0])} is in training mode: the inner block must restore "
                 "the flags it found (all eval), not call model.train(). " + RESTORE)
        if between["grad"] or between["history"]:
            fail(f"{inner}, autograd is on again: the inner block must restore the grad mode it found (off).")
        assert_close(between["out"], eval_output(case.model, case.x),
                     f"model(x) inside the outer block, after the inner one, on {case.words}",
                     why="Expected model(x) computed in eval mode.")
        after = f"after leaving both nested evaluating() blocks on {case.words}"
        check_flags(seen["after"]["flags"], case.model, after, RESTORE)
        check_grad_mode(seen["after"]["grad"], caller_grad, after)
