"""Kata 06: BatchNormLike, a BatchNorm of your own with buffers.

Every spec is judged outside the learner's process: a @probe builds the learner's layer in the subject,
runs the steps the judge drew and returns plain observations (outputs, state_dict() snapshots, names);
the judge replays the same steps on its own nn.BatchNorm1d (in float64) and decides. Each probe call judges
a batch of drawn cases, and a failure names the case it happened on.

Contract clauses, and the specs that enforce them:

C1  weight (ones) and bias (zeros), float32 Parameters of shape (C,), are the only Parameters, and what an
    optimizer stepping over parameters() updates.
    -> weight_and_bias_are_the_only_parameters, parameters_are_what_an_optimizer_updates
C2  running_mean (zeros), running_var (ones) and num_batches_tracked (int64 scalar 0) are buffers;
    state_dict() has exactly BatchNorm1d's keys and values, and loads into nn.BatchNorm1d and back.
    -> buffers_start_as_batchnorm1ds_statistics_and_counter, state_dict_loads_into_batchnorm1d_and_back
C3  Training forward on (N, C) or (N, C, L), any C (1 to 1000): BatchNorm1d's output, from the mean and
    biased variance of each feature's N (or N * L) values; two values per feature suffice.
    -> training_output_matches_batchnorm1d, a_training_batch_of_two_values_per_feature_works
C4  Each training forward adds 1 to num_batches_tracked and sets running = (1 - f) * running + f * stat
    (unbiased variance), f = momentum (0 to 1, float or int) or 1 / num_batches_tracked for momentum=None.
    -> running_statistics_follow_the_momentum_update, momentum_none_keeps_a_cumulative_average,
       num_batches_tracked_counts_training_forwards_only
C5  Eval forward: the running statistics instead of the batch's, any N >= 1, no buffer changes.
    -> eval_output_uses_the_running_statistics, eval_changes_no_buffer,
       num_batches_tracked_counts_training_forwards_only
C6  Defaults eps=1e-5 and momentum=0.1 exactly; eps inside the square root.
    -> default_eps_and_momentum_are_exactly_batchnorm1ds, eps_is_added_inside_the_square_root
C7  Any memory layout; float16, bfloat16, float32, float64 (the layer cast to the input's dtype); the
    output has x's shape, dtype and device; x is never modified; grad mode is left alone; under
    torch.no_grad() training still updates the buffers.
    -> forward_accepts_any_memory_layout, forward_in_every_floating_dtype,
       forward_leaves_the_input_and_grad_mode_alone
C8  Errors, raised before anything changes: not 2-D/3-D -> ValueError; wrong feature count -> ValueError
    or RuntimeError; training on one value per feature -> ValueError.
    -> training_on_one_value_per_feature_raises_value_error, malformed_input_raises_before_anything_changes
C9  Gradients reach x, weight and bias and equal BatchNorm1d's (through the batch statistics in training);
    the buffers never carry autograd history: a later loss sends no gradient into past batches.
    -> gradients_match_batchnorm1d, later_losses_send_no_gradient_into_past_batches
C10 .to(device), .double(), .half(), .to(dtype) move the buffers and cast the floating ones;
    num_batches_tracked stays an int64 counter.   -> casts_move_the_buffers_and_keep_the_counter_int64
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import torch
from hypothesis import example
from torch import nn

from kata_runner.asserts import assert_close, assert_keys, fail
from kata_runner.batching import batch_doing, cases_of, each_case, judged
from kata_runner.draw import describe_layout, examples, given, st
from kata_runner.probing import names, outcome, probe, snapshot

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
KEYS = ("weight", "bias", *BUFFERS)
STATS = ("running_mean", "running_var")
LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")
FEATURES = st.sampled_from([1, 2, 3, 5, 8, 300, 1000])
LOW_AND_HIGH = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
CASTS = {torch.float32: "float", torch.float64: "double", torch.float16: "half", torch.bfloat16: "bfloat16"}

COUNTER = (
    "num_batches_tracked is an integer counter (torch.long), as in BatchNorm1d: "
    "register torch.tensor(0, dtype=torch.long) and add 1 per training forward."
)
TRAIN = (
    "In training, normalise each feature with the mean and the biased variance (divide by the count) of all "
    "its values in the batch (dimension 0, and dimension 2 for (N, C, L) input): "
    "(x - mean) / sqrt(var + eps) * weight + bias."
)
EVAL = "In eval mode normalise with the running statistics (running_mean, running_var), not the batch's own."
RUNNING = (
    "Update running = (1 - momentum) * running + momentum * batch_statistic, with the unbiased "
    "variance (divide by count - 1) for running_var, as BatchNorm1d does."
)
HISTORY = (
    "The running statistics are bookkeeping, not part of the graph: a buffer with autograd history keeps every "
    "past batch's graph alive in memory. Update them under torch.no_grad() or from detached statistics."
)
SAME_KEYS = (
    "Use BatchNorm1d's names (weight, bias, running_mean, running_var, num_batches_tracked) "
    "so state_dicts load both ways."
)
VALID = (
    "This input is valid: (N, C) or (N, C, L) with C = num_features, for any size (1, 300, 1000...); compare sizes "
    "with ==, never with `is` (Python shares int objects only up to 256)."
)
LAYOUT = "Any memory layout must work: use reshape (or movedim, transpose), not view, which needs contiguous memory."
CUMULATIVE = (
    "momentum=None means a cumulative average: after the increment, f = 1 / num_batches_tracked, and "
    "running = (1 - f) * running + f * batch_statistic."
)
GRADIENTS = (
    "In training the batch mean and variance are part of the computation, so gradients must flow "
    "through them: detach only the running-statistics update, never the normalisation."
)


# ------------------------------------------------------------------------------------------ probes
# These run in the subject, next to the learner's code. They observe; the specs below decide.


def _build(impl, c, options):
    """BatchNormLike(c, ...) with the eps/momentum in `options` (absent: the defaults), positional or keyword."""
    given_ = {k: options[k] for k in ("eps", "momentum") if k in options}
    if options.get("style") == "positional" and "eps" in given_:
        args = [c, given_.pop("eps")]
        if "momentum" in given_:
            args.append(given_.pop("momentum"))
        return impl.BatchNormLike(*args, **given_)
    if options.get("style") == "keyword":
        return impl.BatchNormLike(num_features=c, **given_)
    return impl.BatchNormLike(c, **given_)


def _prepare(impl, c, options, device, casts=(), values=None, foreign=None):
    layer = _build(impl, c, options).to(device)
    for cast in casts:
        layer = layer.to(cast) if isinstance(cast, torch.dtype) else getattr(layer, cast)()
    if foreign is not None:
        layer.load_state_dict(foreign)
    with torch.no_grad():
        for name, value in (values or {}).items():
            getattr(layer, name).copy_(value)
    return layer


def _construct(impl, c, options):
    layer = _build(impl, c, options)
    return {
        "state": snapshot(layer.state_dict()),
        "parameters": names(layer.named_parameters()),
        "buffers": names(layer.named_buffers()),
        "children": names(layer.named_children()),
    }


@probe
def construct(impl, cases):
    """Per (c, options): what a fresh layer registers."""
    return each_case(impl, cases, _construct)


def _session(impl, c, options, device, steps, casts=(), values=None, foreign=None):
    layer = _prepare(impl, c, options, device, casts, values, foreign)
    seen = {"start": snapshot(layer.state_dict()), "outs": [], "states": [], "x_changed": [], "grad_kept": [],
            "history": []}
    for step in steps:
        layer.train(step["train"])
        x = step["x"]
        x_before = x.clone()
        before = torch.is_grad_enabled()
        if step.get("no_grad"):
            with torch.no_grad():
                out = layer(x)
                kept = not torch.is_grad_enabled()
        else:
            out = layer(x)
            kept = torch.is_grad_enabled() == before
        seen["grad_kept"].append(kept)
        seen["x_changed"].append(not torch.equal(x, x_before))
        seen["history"].append(bool(getattr(out, "requires_grad", False) or getattr(out, "grad_fn", None)))
        seen["outs"].append(out.detach() if isinstance(out, torch.Tensor) else out)
        seen["states"].append(snapshot(layer.state_dict()))
    return seen


@probe
def session(impl, cases):
    """Per (c, options, device, steps, casts, values, foreign): build, cast, load; then run each step
    {"train", "x", "no_grad"}; observe outputs and state after each."""
    return each_case(impl, cases, _session)


def _refuse(impl, c, options, device, warmup, x, train):
    layer = _prepare(impl, c, options, device)
    for w in warmup:
        layer(w)
    layer.train(train)
    before = snapshot(layer.state_dict())
    result = outcome(layer, x)
    return {"before": before, "after": snapshot(layer.state_dict()), "raised": result["raised"]}


@probe
def refuse(impl, cases):
    """Per (c, options, device, warmup, x, train): after the warmup training steps, call the layer on a bad input;
    observe what it raised and what changed."""
    return each_case(impl, cases, _refuse)


def _gradients(impl, c, options, device, values, warmup, x, grad_out, train):
    layer = _prepare(impl, c, options, device, (torch.float64,), values)
    for w in warmup:
        layer(w)
    layer.train(train)
    x.requires_grad_(True)
    (layer(x) * grad_out).sum().backward()
    return {"x": x.grad, "weight": getattr(layer.weight, "grad", None), "bias": getattr(layer.bias, "grad", None)}


@probe
def gradients(impl, cases):
    return each_case(impl, cases, _gradients)


def _sgd_step(impl, c, device, values, x, grad_out, lr):
    layer = _prepare(impl, c, {}, device, values=values)
    params = list(layer.parameters())
    (layer(x) * grad_out).sum().backward()
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
    return snapshot(layer.state_dict())


@probe
def sgd_step(impl, cases):
    """What every optimizer does: update whatever parameters() yields, by its gradient."""
    return each_case(impl, cases, _sgd_step)


def _past_batches(impl, c, device, train_xs, eval_x, grad_out):
    layer = _prepare(impl, c, {}, device, (eval_x.dtype,))
    for x in train_xs:
        x.requires_grad_(True)
        layer(x)
    layer.eval()
    out = layer(eval_x)
    backward = outcome(lambda: (out * grad_out).sum().backward())  # = out.backward(grad_out), minus sympy
    return {"grads_none": [x.grad is None for x in train_xs], "backward_raised": backward["raised"]}


@probe
def past_batches(impl, cases):
    """Per (c, device, train_xs, eval_x, grad_out): train on batches that require grad, then backpropagate a loss
    on a later eval output."""
    return each_case(impl, cases, _past_batches)


# ------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Batch:
    """An input the judge draws: (N, C) or (N, C, L) values ~ scale * N(0, 1) + shift, laid out as `layout`:
    contiguous; transposed (all dimensions reversed in memory); sliced (every other element along the last
    dimension); expanded (stride 0 along the features for (N, C), along L for (N, C, L))."""

    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    layout: str = "contiguous"
    seed: int = 0
    scale: float = 1.0
    shift: float = 0.0

    def make(self, device: torch.device) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        shape = self.shape

        def values(*size: int) -> torch.Tensor:
            t = torch.randn(size, generator=generator, dtype=torch.float64) * self.scale + self.shift
            return t.to(self.dtype).to(device)

        if self.layout == "transposed":
            return values(*reversed(shape)).permute(*reversed(range(len(shape))))
        if self.layout == "sliced":
            return values(*shape[:-1], 2 * shape[-1])[..., ::2]
        if self.layout == "expanded":
            return values(*shape[:-1], 1).expand(*shape)
        return values(*shape)

    def describe(self) -> str:
        words = describe_layout(self.layout, self.dtype, self.shape)
        return words.replace(" input", " low-variance input") if self.scale < 0.1 else words


def _fits(layout: str, shape: tuple[int, ...]) -> bool:
    if layout == "transposed":
        return min(shape) > 1
    if layout == "expanded":
        return shape[-1] > 1
    return True


@st.composite
def batches(draw, c, *, dtypes=(torch.float32, torch.float64), layouts=("contiguous",), three_d=None,
            min_values=2, max_n=6, scale=None, shift=None):
    """A Batch for C = c features, with at least `min_values` values per feature."""
    three = draw(st.booleans()) if three_d is None else three_d
    n = draw(st.integers(1, max_n))
    length = draw(st.integers(1, 4)) if three else 1
    if n * length < min_values:
        n = 2
    shape = (n, c, length) if three else (n, c)
    layout = draw(st.sampled_from(tuple(lay for lay in layouts if _fits(lay, shape)) or ("contiguous",)))
    scale = draw(st.sampled_from([0.5, 1.0, 3.0])) if scale is None else scale
    shift = draw(st.sampled_from([-1.0, 0.0, 2.0])) if shift is None else shift
    return Batch(shape, draw(st.sampled_from(dtypes)), layout, draw(st.integers(0, 2**16)), scale, shift)


@st.composite
def training_runs(draw, c, steps=3, layouts=("contiguous",), dtypes=(torch.float32, torch.float64)):
    """`steps` training batches for C = c features, all 2-D or all 3-D, in one dtype."""
    three = draw(st.booleans())
    dtype = draw(st.sampled_from(dtypes))
    return [draw(batches(c, three_d=three, dtypes=(dtype,), layouts=layouts)) for _ in range(steps)]


@st.composite
def featured(draw, make):
    """(C, make(C)): a feature count, then what depends on it (drawn together, before the spec runs)."""
    c = draw(FEATURES)
    return c, draw(_made(make, c))


@functools.cache
def _made(make, c):
    return make(c)  # once per (spec, C): building a strategy costs validation on every use


@st.composite
def options(draw, eps=(1e-5, 1e-3, 0.1, 1), momentum=(0.1, 0.3, 0.5, 1.0, 0.0, 1, 0)):
    """Constructor arguments: eps and momentum each given (from the choices) or left at the default."""
    found = {"style": draw(st.sampled_from(["positional", "keyword"]))}
    if draw(st.booleans()):
        found["eps"] = draw(st.sampled_from(eps))
    if draw(st.booleans()):
        found["momentum"] = draw(st.sampled_from(momentum))
    return found


def words(opts) -> str:
    shown = [f"{k}={opts[k]!r}" for k in ("eps", "momentum") if k in opts]
    return f"BatchNormLike(C{', ' if shown else ''}{', '.join(shown)})"


def affine(c, device, seed, dtype=torch.float32):
    """A random weight and bias for C features (weights away from zero, so that they matter)."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(c, generator=generator, dtype=torch.float64).add(0.5).to(dtype).to(device)
    bias = torch.randn(c, generator=generator, dtype=torch.float64).to(dtype).to(device)
    return {"weight": weight, "bias": bias}


# ------------------------------------------------------------------------------------------ the oracle


def reference(c, opts, device, values=None, foreign=None):
    """nn.BatchNorm1d(c, eps, momentum) in float64, with the same weight, bias and statistics."""
    kwargs = {k: opts[k] for k in ("eps", "momentum") if k in opts}
    bn = nn.BatchNorm1d(c, **kwargs).to(device).double()
    if foreign is not None:
        bn.load_state_dict(foreign)
    with torch.no_grad():
        for name, value in (values or {}).items():
            getattr(bn, name).copy_(value)
    return bn


@contextmanager
def one_thread():
    """The oracle's kernels on one CPU thread: on a busy machine, waking a thread pool for tensors this small costs
    far more than the work itself."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def replay(bn, steps):
    """BatchNorm1d's outputs and state_dict after each step {"train", "x"}."""
    outs, states = [], []
    with one_thread(), torch.no_grad():
        for step in steps:
            bn.train(step["train"])
            outs.append(bn(step["x"].double()))
            states.append({k: v.clone() for k, v in bn.state_dict().items()})
    return outs, states


def unit(dtype):
    return torch.finfo(dtype).eps


def output_tolerance(dtype, x, mean, var, eps, weight, bias):
    """rtol/atol for an output computed in `dtype`: rounding errors of x - mean are amplified by 1/sqrt(var + eps)."""
    e = unit(dtype)
    inv_std = float((var.double() + eps).rsqrt().max())
    spread = float(x.double().abs().max()) + float(mean.double().abs().max())
    scale = spread * inv_std * float(weight.double().abs().max()) + float(bias.double().abs().max()) + 1
    return {"rtol": 32 * e, "atol": 32 * e * scale}


def state_tolerance(dtype, xs):
    e = unit(dtype)
    spread = 1 + max(float(x.double().abs().max()) for x in xs)
    return {"rtol": 32 * e, "atol": 32 * e * spread * spread}


def batch_statistics(x):
    x = x.double()
    dims = (0,) if x.dim() == 2 else (0, 2)
    return x.mean(dims), x.var(dims, unbiased=False)


def broadcast(t, x):
    return t.reshape(-1) if x.dim() == 2 else t.reshape(-1, 1)


def formula(x, mean, var, eps, weight, bias):
    """(x - mean) / sqrt(var + eps) * weight + bias in float64, the (C,) vectors broadcast along dimension 1."""
    x = x.double()
    mean, var, weight, bias = (broadcast(t.double(), x) for t in (mean, var, weight, bias))
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def close(actual, expected, tolerance) -> bool:
    """Quiet comparison, used to recognise a specific mistake before the verdict."""
    if not isinstance(actual, torch.Tensor) or tuple(actual.shape) != tuple(expected.shape):
        return False
    return bool(torch.allclose(actual.double().cpu(), expected.double().cpu(), **tolerance))


def check_output(out, x, expected, tolerance, what, why):
    if not isinstance(out, torch.Tensor):
        fail(f"{what} returned {type(out).__name__}, expected a tensor.")
    if tuple(out.shape) != tuple(x.shape):
        fail(f"{what} returned shape {tuple(out.shape)}; the output must have the input's shape {tuple(x.shape)}.")
    if out.dtype != x.dtype:
        fail(f"{what} returned dtype {out.dtype}; the output must keep the input's dtype {x.dtype}.")
    if out.device.type != x.device.type:
        fail(f"{what} returned a tensor on {out.device.type}; it must stay on {x.device.type}.")
    assert_close(out.double(), expected, what, why=why, **tolerance)


def check_state(state, expected, dtype, xs, what, why=""):
    """The learner's state_dict against BatchNorm1d's: same keys, the counter exact, the statistics close."""
    assert_keys(state, expected.keys(), f"state_dict() keys {what}", why=SAME_KEYS)
    count, want = state["num_batches_tracked"], expected["num_batches_tracked"]
    if count.dtype != torch.long:
        fail(f"num_batches_tracked has dtype {count.dtype} {what}, expected torch.int64. {COUNTER}")
    if int(count) != int(want):
        fail(f"num_batches_tracked is {int(count)} {what}, expected {int(want)}. {why or COUNTER}")
    for name in STATS:
        if state[name].dtype != dtype:
            fail(f"{name} has dtype {state[name].dtype} {what}, expected {dtype}: buffers follow the layer's casts.")
        assert_close(state[name].double(), expected[name], f"{name} {what}", why=why or RUNNING,
                     **state_tolerance(dtype, xs))


# ------------------------------------------------------------------------------------------ specs

SEEDS = st.integers(0, 2**16)
STYLES = st.sampled_from(["positional", "keyword"])
MOMENTA = st.sampled_from([0.1, 0.3, 0.5, 1.0, 0.0, 1, 0])


def run(kata, probe_, cases, why=lambda case: ""):
    """probe_ on every case (case.inputs), in one round trip; pairs of (case, what the probe saw)."""
    seen = kata.run(probe_, [c.inputs for c in cases], doing=batch_doing([c.doing for c in cases]),
                    why=why(cases[0]))
    return judged(cases, seen, lambda c: c.doing, why)


def sessions(kata, cases, why=lambda case: ""):
    """The session probe on every case: case.inputs = (c, options, device, steps, casts, values, foreign)."""
    return run(kata, session, cases, why)


def constructed(kata, drawn):
    cases = [SimpleNamespace(c=c, opts=opts, inputs=(c, opts), doing=f"{words(opts)} with C = {c}")
             for c, opts in drawn]
    return run(kata, construct, cases)


@given(drawn=cases_of(st.tuples(FEATURES, options()), 6))
@examples(2)
def test_weight_and_bias_are_the_only_parameters(kata, device, drawn):
    """weight (ones) and bias (zeros) of shape (num_features,) are the layer's only Parameters."""
    for case, seen in constructed(kata, drawn):
        c = case.c
        if seen["parameters"] != ["weight", "bias"]:
            fail(f"named_parameters() should be ['weight', 'bias']; got {seen['parameters']}. Running statistics are "
                 "measured, not learned: as nn.Parameters an optimizer given model.parameters() would update them "
                 "(weight decay, for one). Register them with register_buffer so optimizers never touch them.")
        fresh = nn.BatchNorm1d(c).state_dict()
        for name in ("weight", "bias"):
            assert_close(seen["state"][name], fresh[name], f"{name} at initialisation with C = {c}", rtol=0, atol=0,
                         why="BatchNorm1d starts as the identity map: weight = 1, bias = 0, float32, shape (C,).")


@given(drawn=cases_of(st.tuples(FEATURES, options()), 6))
@examples(2)
def test_buffers_start_as_batchnorm1ds_statistics_and_counter(kata, device, drawn):
    """running_mean (zeros), running_var (ones) and num_batches_tracked (int64 0) are buffers, as in BatchNorm1d."""
    for case, seen in constructed(kata, drawn):
        c = case.c
        missing = [name for name in BUFFERS if name not in seen["buffers"]]
        if missing:
            fail(f"{missing} is not a registered buffer (named_buffers() gave {seen['buffers']}): a plain tensor "
                 "attribute is not saved in state_dict() and does not move with .to(device). "
                 "Use self.register_buffer(name, tensor).")
        if sorted(seen["buffers"]) != sorted(BUFFERS) or seen["children"]:
            fail(f"the buffers should be exactly {list(BUFFERS)} and there should be no submodules; got buffers "
                 f"{seen['buffers']} and submodules {seen['children']}.")
        fresh = nn.BatchNorm1d(c).state_dict()
        assert_keys(seen["state"], fresh.keys(), f"state_dict() keys of {case.doing}", why=SAME_KEYS)
        for name in BUFFERS:
            why = COUNTER if name == "num_batches_tracked" else "running_mean starts at zeros, running_var at ones."
            assert_close(seen["state"][name], fresh[name], f"{name} at initialisation with C = {c}", rtol=0, atol=0,
                         why=why)


@given(drawn=cases_of(st.tuples(featured(lambda c: batches(c, dtypes=(torch.float32,))), SEEDS,
                                st.sampled_from([0.1, 0.5, 1.0])), 5))
@examples(2)
def test_parameters_are_what_an_optimizer_updates(kata, device, drawn):
    """An optimizer's step (param -= lr * grad over parameters()) moves weight and bias as BatchNorm1d's would."""
    cases = []
    for (c, xs), seed, lr in drawn:
        x, values = xs.make(device), affine(c, device, seed)
        grad_out = torch.randn(xs.shape, generator=torch.Generator().manual_seed(seed + 1)).to(device)
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, values=values, grad_out=grad_out, lr=lr,
                                     inputs=(c, device, values, x, grad_out, lr),
                                     doing=f"an SGD step after a training forward on {xs.describe()}"))
    for case, state in run(kata, sgd_step, cases):
        c, xs, x, lr = case.c, case.xs, case.x, case.lr
        bn = reference(c, {}, device, case.values)
        with one_thread():
            (bn(x.double()) * case.grad_out.double()).sum().backward()
        with torch.no_grad():
            for p in bn.parameters():
                p -= lr * p.grad
        expected = bn.state_dict()
        assert_keys(state, expected.keys(), "state_dict() after an optimizer step", why=SAME_KEYS)
        for name in ("weight", "bias"):
            assert_close(state[name].double(), expected[name],
                         f"{name} after one SGD step (lr={lr}) on {xs.describe()}",
                         why="parameters() must yield the weight and bias forward uses, and backward must reach them.",
                         rtol=1e-4, atol=1e-4 * (1 + float(expected[name].abs().max())))
        check_state(state, expected, torch.float32, [x], f"after an optimizer step on {xs.describe()}")


@given(drawn=cases_of(st.tuples(featured(batches), options(), SEEDS), 6))
@examples(2)
def test_training_output_matches_batchnorm1d(kata, device, drawn):
    """In training the output equals nn.BatchNorm1d's: each feature's batch mean and biased variance."""
    cases = []
    for (c, xs), opts, seed in drawn:
        x, values = xs.make(device), affine(c, device, seed, xs.dtype)
        steps = [{"train": True, "x": x}]
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, opts=opts, values=values, steps=steps,
                                     inputs=(c, opts, device, steps, (xs.dtype,), values),
                                     doing=f"a training forward of {words(opts)} on {xs.describe()}"))
    for case, seen in sessions(kata, cases, lambda case: VALID):
        c, xs, x, opts, values = case.c, case.xs, case.x, case.opts, case.values
        (expected,), _ = replay(reference(c, opts, device, values), case.steps)
        eps = opts.get("eps", 1e-5)
        mean, var = batch_statistics(x)
        tolerance = output_tolerance(xs.dtype, x, mean, var, eps, values["weight"], values["bias"])
        out = seen["outs"][0]
        count = x.numel() // c
        if count > 1 and not close(out, expected, tolerance):
            unbiased = formula(x, mean, var * count / (count - 1), eps, values["weight"], values["bias"])
            if close(out, unbiased, tolerance):
                fail(f"on {xs.describe()} the training output was normalised with the unbiased variance (divide by "
                     "count - 1); BatchNorm1d normalises with the biased batch variance (divide by the count). "
                     "Only the running estimate uses the unbiased one.")
        check_output(out, x, expected, tolerance, f"the training output on {xs.describe()}", TRAIN)


TWO_VALUES = ("Two values per feature have a variance (the unbiased one divides by 2 - 1 = 1): only one value is "
              "refused.")


@given(drawn=cases_of(st.tuples(FEATURES, options(), st.booleans(), SEEDS), 6))
@examples(2)
def test_a_training_batch_of_two_values_per_feature_works(kata, device, drawn):
    """Two values per feature, (2, C) or (1, C, 2), are enough to train, as in BatchNorm1d."""
    cases = []
    for c, opts, three_d, seed in drawn:
        xs = Batch((1, c, 2) if three_d else (2, c), torch.float64, seed=seed, scale=2.0, shift=1.0)
        x, values = xs.make(device), affine(c, device, seed, torch.float64)
        steps = [{"train": True, "x": x}]
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, opts=opts, values=values, steps=steps,
                                     inputs=(c, opts, device, steps, (torch.float64,), values),
                                     doing=f"a training forward of {words(opts)} on {xs.describe()}"))
    for case, seen in sessions(kata, cases, lambda case: TWO_VALUES):
        c, xs, x, opts, values = case.c, case.xs, case.x, case.opts, case.values
        (expected,), (state,) = replay(reference(c, opts, device, values), case.steps)
        mean, var = batch_statistics(x)
        tolerance = output_tolerance(torch.float64, x, mean, var, opts.get("eps", 1e-5), values["weight"],
                                     values["bias"])
        check_output(seen["outs"][0], x, expected, tolerance, f"the training output on {xs.describe()}", TRAIN)
        check_state(seen["states"][0], state, torch.float64, [x], f"after a training forward on {xs.describe()}")


@given(drawn=cases_of(st.tuples(featured(training_runs), MOMENTA, STYLES), 6))
@examples(2)
def test_running_statistics_follow_the_momentum_update(kata, device, drawn):
    """Each training forward moves the running statistics a momentum fraction towards the batch's, as BatchNorm1d."""
    cases = []
    for (c, runs), momentum, style in drawn:
        xs = [spec.make(device) for spec in runs]
        opts = {"style": style, "momentum": momentum}
        steps = [{"train": True, "x": x} for x in xs]
        cases.append(SimpleNamespace(c=c, runs=runs, xs=xs, opts=opts, momentum=momentum, steps=steps,
                                     inputs=(c, opts, device, steps, (runs[0].dtype,)),
                                     doing=f"training forwards of {words(opts)} on {runs[0].describe()} and more"))
    for case, seen in sessions(kata, cases):
        c, runs, xs, momentum, dtype = case.c, case.runs, case.xs, case.momentum, case.runs[0].dtype
        _, states = replay(reference(c, case.opts, device), case.steps)
        for index, (spec, x, got, expected) in enumerate(zip(runs, xs, seen["states"], states)):
            what = f"after training forward {index + 1} (on {spec.describe()}) with momentum={momentum!r}"
            assert_keys(got, expected.keys(), f"state_dict() keys {what}", why=SAME_KEYS)
            tolerance = state_tolerance(dtype, xs[: index + 1])
            previous = seen["start"] if index == 0 else seen["states"][index - 1]
            if momentum not in (0.5,) and not close(got["running_mean"], expected["running_mean"], tolerance):
                mean, _ = batch_statistics(x)
                swapped = momentum * previous["running_mean"].double() + (1 - momentum) * mean
                if close(got["running_mean"], swapped, tolerance):
                    fail(f"momentum is applied the wrong way round {what}: the running mean moved "
                         f"{1 - momentum:.0%} of the way to the batch mean. momentum is the weight of the NEW batch: "
                         "running = (1 - momentum) * running + momentum * batch_mean (the opposite of the "
                         "optimizer's momentum convention).")
            count = x.numel() // c
            if momentum != 0 and not close(got["running_var"], expected["running_var"], tolerance):
                _, var = batch_statistics(x)
                biased = (1 - momentum) * previous["running_var"].double() + momentum * var
                if close(got["running_var"], biased, tolerance) and count > 1:
                    fail(f"running_var was updated with the biased batch variance {what}. The running estimate uses "
                         "the unbiased variance (divide by count - 1), x.var(unbiased=True) over each feature's "
                         "values, as BatchNorm1d does; only the normalisation uses the biased one.")
            check_state(got, expected, dtype, xs[: index + 1], what)


@given(drawn=cases_of(st.tuples(featured(lambda c: training_runs(c, steps=4)), st.integers(2, 4), STYLES), 6))
@examples(2)
def test_momentum_none_keeps_a_cumulative_average(kata, device, drawn):
    """With momentum=None the k-th batch weighs 1 / k: the running statistics average all batches so far."""
    cases = []
    for (c, runs), steps, style in drawn:
        runs = runs[:steps]
        xs = [spec.make(device) for spec in runs]
        opts = {"momentum": None, "style": style}
        plan = [{"train": True, "x": x} for x in xs]
        cases.append(SimpleNamespace(c=c, runs=runs, xs=xs, opts=opts, plan=plan,
                                     inputs=(c, opts, device, plan, (runs[0].dtype,)),
                                     doing=f"training forwards of BatchNormLike({c}, momentum=None) on "
                                           f"{runs[0].describe()} and more"))
    why = CUMULATIVE + " " + COUNTER
    for case, seen in sessions(kata, cases, lambda case: CUMULATIVE):
        _, states = replay(reference(case.c, case.opts, device), case.plan)
        for index, (got, expected) in enumerate(zip(seen["states"], states)):
            check_state(got, expected, case.runs[0].dtype, case.xs[: index + 1],
                        f"after {index + 1} training forward(s) on {case.runs[index].describe()} with momentum=None",
                        why=why)


@given(drawn=cases_of(st.tuples(FEATURES, st.lists(st.booleans(), min_size=2, max_size=6), SEEDS), 6))
@examples(2)
def test_num_batches_tracked_counts_training_forwards_only(kata, device, drawn):
    """num_batches_tracked goes up by one per training forward, stays int64, and eval forwards do not count."""
    cases = []
    for c, modes, seed in drawn:
        xs = [Batch((3 + i, c), seed=seed + i).make(device) for i in range(len(modes))]
        plan = [{"train": mode, "x": x} for mode, x in zip(modes, xs)]
        shown = ", ".join("training" if mode else "eval" for mode in modes)
        cases.append(SimpleNamespace(modes=modes, inputs=(c, {}, device, plan),
                                     doing=f"forwards of BatchNormLike({c}) in {shown} mode"))
    for case, seen in sessions(kata, cases):
        for index, state in enumerate(seen["states"]):
            if "num_batches_tracked" not in state:
                fail(f"state_dict() has no 'num_batches_tracked'. {SAME_KEYS}")
            count = state["num_batches_tracked"]
            want = sum(case.modes[: index + 1])
            what = f"after {index + 1} forwards ({want} in training, {index + 1 - want} in eval)"
            if count.dtype != torch.long or count.shape != () or int(count) != want:
                fail(f"num_batches_tracked is {count.tolist()} ({count.dtype}) {what}; expected int64 {want}. "
                     f"{COUNTER}")


EVAL_ANY_N = EVAL + " Any N >= 1 works in eval, a single sample included."


@given(drawn=cases_of(st.tuples(featured(lambda c: batches(c, min_values=1)), options(), SEEDS), 6))
@examples(2)
def test_eval_output_uses_the_running_statistics(kata, device, drawn):
    """In eval mode the output uses running_mean and running_var, for any batch size, exactly as BatchNorm1d's."""
    cases = []
    for (c, xs), opts, seed in drawn:
        x = xs.make(device)
        generator = torch.Generator().manual_seed(seed + 7)
        stats = {"running_mean": torch.randn(c, generator=generator, dtype=torch.float64),
                 "running_var": torch.rand(c, generator=generator, dtype=torch.float64) + 0.5}
        values = {**affine(c, device, seed, xs.dtype), **{k: v.to(xs.dtype).to(device) for k, v in stats.items()}}
        steps = [{"train": False, "x": x}]
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, opts=opts, values=values, steps=steps,
                                     inputs=(c, opts, device, steps, (xs.dtype,), values),
                                     doing=f"an eval forward of {words(opts)} on {xs.describe()}"))
    for case, seen in sessions(kata, cases, lambda case: EVAL_ANY_N):
        c, xs, x, opts, values = case.c, case.xs, case.x, case.opts, case.values
        (expected,), _ = replay(reference(c, opts, device, values), case.steps)
        eps = opts.get("eps", 1e-5)
        tolerance = output_tolerance(xs.dtype, x, values["running_mean"], values["running_var"], eps,
                                     values["weight"], values["bias"])
        out = seen["outs"][0]
        if x.numel() // c > 1 and not close(out, expected, tolerance):
            mean, var = batch_statistics(x)
            if close(out, formula(x, mean, var, eps, values["weight"], values["bias"]), tolerance):
                fail(f"the eval output on {xs.describe()} was normalised with this batch's own statistics. " + EVAL
                     + " Otherwise one sample's prediction depends on the rest of its batch.")
        check_output(out, x, expected, tolerance, f"the eval output on {xs.describe()}", EVAL)


@given(drawn=cases_of(featured(lambda c: st.tuples(batches(c, dtypes=(torch.float32,)),
                                                    batches(c, min_values=1, dtypes=(torch.float32,)))), 6))
@examples(2)
def test_eval_changes_no_buffer(kata, device, drawn):
    """An eval forward reads the running statistics and leaves every buffer exactly as it was."""
    cases = []
    for c, (warm, later) in drawn:
        plan = [{"train": True, "x": warm.make(device)}, {"train": False, "x": later.make(device)},
                {"train": False, "x": later.make(device)}]
        cases.append(SimpleNamespace(later=later, inputs=(c, {}, device, plan, (warm.dtype,)),
                                     doing=f"eval forwards of BatchNormLike({c}) on {later.describe()}"))
    why = "In eval mode the running statistics are only read; they change in training mode only."
    for case, seen in sessions(kata, cases):
        for index in (1, 2):
            for name in BUFFERS:
                got, want = seen["states"][index].get(name), seen["states"][0].get(name)
                if want is None:
                    fail(f"state_dict() has no '{name}'. {SAME_KEYS}")
                assert_close(got, want, f"{name} after eval forward {index} on {case.later.describe()}", rtol=0,
                             atol=0, why=why)


@given(drawn=cases_of(st.tuples(FEATURES, st.booleans(), SEEDS), 6))
@examples(2)
def test_default_eps_and_momentum_are_exactly_batchnorm1ds(kata, device, drawn):
    """BatchNormLike(C) behaves as nn.BatchNorm1d(C): eps = 1e-5 and momentum = 0.1, even where eps matters."""
    cases = []
    for c, three_d, seed in drawn:
        runs = [Batch((4, c, 3) if three_d else (6, c), torch.float64, seed=seed + i, scale=3e-3, shift=1.0)
                for i in range(2)]
        xs = [spec.make(device) for spec in runs]
        values = affine(c, device, seed, torch.float64)
        plan = [{"train": True, "x": xs[0]}, {"train": True, "x": xs[1]}, {"train": False, "x": xs[1]}]
        cases.append(SimpleNamespace(c=c, runs=runs, xs=xs, values=values, plan=plan,
                                     inputs=(c, {}, device, plan, (torch.float64,), values),
                                     doing=f"BatchNormLike({c}) forwards on {runs[0].describe()}"))
    why = ("The defaults are BatchNorm1d's: eps=1e-5 (on input whose variance is about 1e-5, a different eps gives "
           "a visibly different output) and momentum=0.1.")
    for case, seen in sessions(kata, cases, lambda case: VALID):
        c = case.c
        outs, states = replay(reference(c, {}, device, case.values), case.plan)
        for index, (step, got, expected) in enumerate(zip(case.plan, seen["outs"], outs)):
            mode = "training" if step["train"] else "eval"
            check_output(got, step["x"], expected, {"rtol": 1e-9, "atol": 1e-9},
                         f"the {mode} output of BatchNormLike({c}) on {case.runs[min(index, 1)].describe()}", why)
            check_state(seen["states"][index], states[index], torch.float64, case.xs,
                        f"after forward {index + 1} of BatchNormLike({c})", why=why)


EPS_WHY = ("Use the eps given to the constructor; it belongs inside the square root, sqrt(var + eps), where it keeps "
           "the divisor away from zero.")


@given(drawn=cases_of(st.tuples(featured(lambda c: batches(c, dtypes=(torch.float64,), scale=0.05, shift=3.0)),
                                st.sampled_from([0.5, 0.1, 1, 2.0]), STYLES, SEEDS), 6))
@examples(2)
def test_eps_is_added_inside_the_square_root(kata, device, drawn):
    """With a large eps on low-variance input the output is (x - mean) / sqrt(var + eps), as in BatchNorm1d."""
    cases = []
    for (c, xs), eps, style, seed in drawn:
        x = xs.make(device)
        opts = {"style": style, "eps": eps}
        values = affine(c, device, seed, torch.float64)
        plan = [{"train": True, "x": x}, {"train": False, "x": x}]
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, eps=eps, opts=opts, values=values, plan=plan,
                                     inputs=(c, opts, device, plan, (torch.float64,), values),
                                     doing=f"{words(opts)} forwards on {xs.describe()}"))
    tolerance = {"rtol": 1e-9, "atol": 1e-9}
    for case, seen in sessions(kata, cases):
        x, values, eps = case.x, case.values, case.eps
        outs, _ = replay(reference(case.c, case.opts, device, values), case.plan)
        mean, var = batch_statistics(x)
        after_sqrt = (x - broadcast(mean, x)) / (torch.sqrt(broadcast(var, x)) + eps)
        after_sqrt = after_sqrt * broadcast(values["weight"], x) + broadcast(values["bias"], x)
        if not close(seen["outs"][0], outs[0], tolerance) and close(seen["outs"][0], after_sqrt, tolerance):
            fail(f"eps is added after the square root: the output on {case.xs.describe()} is "
                 f"(x - mean) / (sqrt(var) + eps). {EPS_WHY}")
        for step, got, expected in zip(case.plan, seen["outs"], outs):
            mode = "training" if step["train"] else "eval"
            check_output(got, x, expected, tolerance, f"the {mode} output with eps={eps!r} on {case.xs.describe()}",
                         EPS_WHY)


def two_trainings_then_eval(drawn, device, cast_of):
    """Cases that train on two batches then run eval on the first, in the batches' dtype (cast_of(dtype): the cast
    that puts the layer in it, and its words)."""
    cases = []
    for (c, runs), *rest in drawn:
        xs = [spec.make(device) for spec in runs]
        dtype = runs[0].dtype
        cast, shown = cast_of(dtype, *rest)
        values = affine(c, device, rest[-1], dtype)
        plan = [{"train": True, "x": xs[0]}, {"train": True, "x": xs[1]}, {"train": False, "x": xs[0]}]
        cases.append(SimpleNamespace(c=c, runs=runs, xs=xs, dtype=dtype, shown=shown, values=values, plan=plan,
                                     inputs=(c, {}, device, plan, (cast,), values),
                                     doing=f"forwards{shown} on {runs[0].describe()} and {runs[1].describe()}"))
    return cases


def check_two_trainings_then_eval(case, seen, device, words_, why_extra=""):
    outs, states = replay(reference(case.c, {}, device, case.values), case.plan)
    for index, step in enumerate(case.plan):
        x, spec = step["x"], case.runs[index % 2]
        if step["train"]:
            mean, var, why, mode = *batch_statistics(x), TRAIN, "training"
        else:
            mean, var, why, mode = states[1]["running_mean"], states[1]["running_var"], EVAL, "eval"
        tolerance = output_tolerance(case.dtype, x, mean, var, 1e-5, case.values["weight"], case.values["bias"])
        check_output(seen["outs"][index], x, outs[index], tolerance, f"the {mode} output on {spec.describe()}{words_}",
                     f"{why}{why_extra}")
    return states


@given(drawn=cases_of(st.tuples(featured(lambda c: training_runs(c, steps=2, layouts=("transposed", "sliced",
                                                                                     "expanded"))), SEEDS), 6))
@examples(2)
def test_forward_accepts_any_memory_layout(kata, device, drawn):
    """Transposed, sliced and expanded inputs give BatchNorm1d's outputs and statistics, in training and eval."""
    cases = two_trainings_then_eval(drawn, device, lambda dtype, seed: (dtype, ""))
    for case, seen in sessions(kata, cases, lambda case: LAYOUT):
        states = check_two_trainings_then_eval(case, seen, device, "", f" {LAYOUT}")
        check_state(seen["states"][1], states[1], case.dtype, case.xs,
                    f"after training forwards on {case.runs[0].describe()} and {case.runs[1].describe()}")


def cast_by(dtype, by, seed):
    return (CASTS[dtype], f" after .{CASTS[dtype]}()") if by == "method" else (dtype, f" after .to({dtype})")


@given(drawn=cases_of(st.tuples(featured(lambda c: training_runs(c, steps=2, dtypes=LOW_AND_HIGH,
                                                                 layouts=("contiguous", "transposed", "sliced"))),
                                st.sampled_from(["method", "to"]), SEEDS), 6))
@examples(2)
def test_forward_in_every_floating_dtype(kata, device, drawn):
    """A layer cast to float16, bfloat16, float32 or float64 computes in that dtype and keeps its buffers in it."""
    for case, seen in sessions(kata, two_trainings_then_eval(drawn, device, cast_by)):
        states = check_two_trainings_then_eval(case, seen, device, case.shown)
        check_state(seen["states"][1], states[1], case.dtype, case.xs,
                    f"after two training forwards in {case.dtype} ({case.shown.strip()})")


NO_GRAD_TRAINS = ("Under torch.no_grad() a training forward still updates the running statistics and the counter: "
                  "no_grad switches off autograd, not training mode. " + RUNNING)


@given(drawn=cases_of(st.tuples(featured(lambda c: batches(c, layouts=LAYOUTS)), st.booleans(), st.booleans(),
                                SEEDS), 6))
@example(drawn=[((5, Batch((4, 5), seed=1)), True, True, 0),
                ((3, Batch((2, 3, 2), torch.float64, seed=2)), False, True, 1)])
@examples(2)
def test_forward_leaves_the_input_and_grad_mode_alone(kata, device, drawn):
    """forward never writes into x nor switches grad mode; under torch.no_grad() training still updates the buffers."""
    cases = []
    for (c, xs), train, no_grad, seed in drawn:
        x, values = xs.make(device), affine(c, device, seed, xs.dtype)
        plan = [{"train": train, "x": x, "no_grad": no_grad}]
        mode, context = "training" if train else "eval", " under torch.no_grad()" if no_grad else ""
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, train=train, no_grad=no_grad, values=values, plan=plan,
                                     mode=mode, context=context, inputs=(c, {}, device, plan, (xs.dtype,), values),
                                     doing=f"a {mode} forward{context} on {xs.describe()}"))
    for case, seen in sessions(kata, cases):
        c, xs, x, values, mode, context = case.c, case.xs, case.x, case.values, case.mode, case.context
        if seen["x_changed"][0]:
            fail(f"a {mode} forward on {xs.describe()} changed the input tensor in place: never modify the caller's "
                 "x.")
        if not seen["grad_kept"][0]:
            fail(f"a {mode} forward{context} on {xs.describe()} switched grad mode on or off: leave "
                 "torch.is_grad_enabled() as the caller set it (use `with torch.no_grad():` blocks, not "
                 "torch.set_grad_enabled).")
        if case.no_grad and seen["history"][0]:
            fail(f"under torch.no_grad() the output of a {mode} forward on {xs.describe()} still records autograd "
                 "history.")
        (expected,), (state,) = replay(reference(c, {}, device, values), case.plan)
        if case.train:
            mean, var = batch_statistics(x)
        else:
            mean, var = values.get("running_mean", torch.zeros(c)), values.get("running_var", torch.ones(c))
        tolerance = output_tolerance(xs.dtype, x, mean, var, 1e-5, values["weight"], values["bias"])
        check_output(seen["outs"][0], x, expected, tolerance, f"the {mode} output{context} on {xs.describe()}",
                     TRAIN if case.train else EVAL)
        check_state(seen["states"][0], state, xs.dtype, [x], f"after a {mode} forward{context} on {xs.describe()}",
                    why=NO_GRAD_TRAINS)


@given(drawn=cases_of(st.tuples(featured(lambda c: st.tuples(batches(c, dtypes=(torch.float64,), layouts=LAYOUTS,
                                                                     max_n=4),
                                                             batches(c, dtypes=(torch.float64,)))),
                                st.booleans(), SEEDS), 6))
@examples(2)
def test_gradients_match_batchnorm1d(kata, device, drawn):
    """Backward gives nn.BatchNorm1d's input, weight and bias gradients (through the batch statistics in training)."""
    cases = []
    for (c, (xs, warm)), train, seed in drawn:
        x, w = xs.make(device), warm.make(device)
        values = affine(c, device, seed, torch.float64)
        grad_out = torch.randn(xs.shape, generator=torch.Generator().manual_seed(seed + 3), dtype=torch.float64)
        grad_out = grad_out.to(device)
        mode = "training" if train else "eval"
        cases.append(SimpleNamespace(c=c, xs=xs, x=x, w=w, values=values, grad_out=grad_out, train=train, mode=mode,
                                     inputs=(c, {}, device, values, [w], x, grad_out, train),
                                     doing=f"backward through a {mode} forward on {xs.describe()}"))
    for case, seen in run(kata, gradients, cases):
        bn = reference(case.c, {}, device, case.values)
        replay(bn, [{"train": True, "x": case.w}])
        bn.train(case.train)
        theirs = case.x.detach().clone().requires_grad_(True)
        with one_thread():
            (bn(theirs) * case.grad_out).sum().backward()
        expected = {"x": theirs.grad, "weight": bn.weight.grad, "bias": bn.bias.grad}
        why = (GRADIENTS if case.train else
               "In eval mode the running statistics are constants; gradients reach x, weight, bias.")
        for name, want in expected.items():
            got = seen[name]
            if got is None:
                fail(f"{name}.grad is None after {case.doing}: gradients do not reach it. {why}")
            atol = 1e-9 * (1 + float(want.abs().max()))
            assert_close(got.double(), want, f"the gradient of {name} through a {case.mode} forward on "
                         f"{case.xs.describe()}", why=why, rtol=1e-7, atol=atol)


@given(drawn=cases_of(st.tuples(featured(training_runs), st.integers(1, 3), SEEDS), 6))
@examples(2)
def test_later_losses_send_no_gradient_into_past_batches(kata, device, drawn):
    """After training on inputs that require grad, a loss on a later eval output has no path back to them."""
    cases = []
    for (c, runs), steps, seed in drawn:
        runs = runs[:steps]
        train_xs = [spec.make(device) for spec in runs]
        eval_x = Batch(runs[0].shape, runs[0].dtype, seed=seed).make(device)
        cases.append(SimpleNamespace(inputs=(c, device, train_xs, eval_x, torch.ones_like(eval_x)),
                                     doing=f"{steps} training forward(s) of BatchNormLike({c}) on inputs that require "
                                           f"grad ({runs[0].describe()}...), then an eval forward and backward"))
    for case, seen in run(kata, past_batches, cases):
        raised = seen["backward_raised"]
        if raised is not None:
            fail(f"after {case.doing}: backward through the eval output raised {raised['type']}: "
                 f"{raised['message'][:200]}. The running statistics carry autograd history from past batches. "
                 f"{HISTORY}")
        reached = [i + 1 for i, none in enumerate(seen["grads_none"]) if not none]
        if not seen["grads_none"]:
            fail("the probe observed no training batch.")
        if reached:
            fail(f"after {case.doing}: a loss on an eval output sent gradients back into training batch(es) "
                 f"{reached}: the running statistics carry autograd history. {HISTORY}")


CAST_NAMES = {"half": torch.float16, "double": torch.float64, "float": torch.float32, "bfloat16": torch.bfloat16}
CAST_WHY = ("Only registered buffers follow .to() and .double(); .half() and .double() cast only floating-point "
            "tensors, so an integer counter keeps its dtype (a float16 counter would stop counting at 2048). "
            + COUNTER)


@given(drawn=cases_of(st.tuples(FEATURES, st.lists(st.sampled_from(["half", "double", "float", "bfloat16",
                                                                     torch.float64, torch.float16]),
                                                   min_size=1, max_size=3),
                                st.integers(1, 3), SEEDS), 6))
@examples(2)
def test_casts_move_the_buffers_and_keep_the_counter_int64(kata, device, drawn):
    """.half(), .double(), .to(dtype) and .to(device) cast and move the statistics; the counter stays int64."""
    cases = []
    for c, casts, steps, seed in drawn:
        dtype = casts[-1] if isinstance(casts[-1], torch.dtype) else CAST_NAMES[casts[-1]]
        shown = "".join(f".to({cast})" if isinstance(cast, torch.dtype) else f".{cast}()" for cast in casts)
        xs = [Batch((4, c), dtype, seed=seed + i).make(device) for i in range(steps)]
        plan = [{"train": True, "x": x} for x in xs]
        cases.append(SimpleNamespace(dtype=dtype, shown=shown, steps=steps, inputs=(c, {}, device, plan, casts),
                                     doing=f"BatchNormLike({c}).to({device.type!r}){shown}"))
    for case, seen in sessions(kata, cases):
        shown, dtype, steps = case.shown, case.dtype, case.steps
        for label, state in [(f"after {shown}", seen["start"]),
                             (f"after {shown} and {steps} training forward(s)", seen["states"][-1])]:
            for name in BUFFERS:
                if name not in state:
                    fail(f"state_dict() has no '{name}' {label}. {SAME_KEYS}")
                if state[name].device.type != device.type:
                    fail(f"{name} is on {state[name].device.type} {label}, expected {device.type}. {CAST_WHY}")
            count = state["num_batches_tracked"]
            if count.dtype != torch.long:
                fail(f"num_batches_tracked has dtype {count.dtype} {label}, expected torch.int64. {CAST_WHY}")
            for name in STATS:
                if state[name].dtype != dtype:
                    fail(f"{name} has dtype {state[name].dtype} {label}, expected {dtype}: it was not cast. "
                         f"{CAST_WHY}")
        if int(seen["states"][-1]["num_batches_tracked"]) != steps:
            fail(f"num_batches_tracked is {int(seen['states'][-1]['num_batches_tracked'])} after {steps} training "
                 f"forward(s) following {shown}, expected {steps}. {COUNTER}")


LOADS = "Registered parameters and buffers are what state_dict() saves. " + SAME_KEYS


@given(drawn=cases_of(st.tuples(featured(lambda c: training_runs(c, steps=2, dtypes=(torch.float32,))),
                                st.sampled_from(["into BatchNorm1d", "from BatchNorm1d"]),
                                st.sampled_from([0.1, 0.5, None]), SEEDS), 6))
@examples(2)
def test_state_dict_loads_into_batchnorm1d_and_back(kata, device, drawn):
    """state_dict() loads into nn.BatchNorm1d and BatchNorm1d's loads back, counter included; both then agree."""
    cases = []
    for (c, runs), direction, momentum, seed in drawn:
        xs = [spec.make(device) for spec in runs]
        opts = {"momentum": momentum}
        values = affine(c, device, seed)
        case = SimpleNamespace(c=c, xs=xs, opts=opts, values=values, direction=direction)
        if direction == "into BatchNorm1d":
            case.plan = [{"train": True, "x": xs[0]}, {"train": False, "x": xs[1]}]
            case.inputs = (c, opts, device, case.plan, (), values)
            case.doing = f"training BatchNormLike({c}, momentum={momentum!r}), then state_dict()"
        else:
            bn = reference(c, opts, device, values)
            replay(bn, [{"train": True, "x": xs[0]}])
            case.foreign = {k: v.float() if v.is_floating_point() else v for k, v in bn.state_dict().items()}
            case.plan = [{"train": False, "x": xs[1]}, {"train": True, "x": xs[1]}]
            case.inputs = (c, opts, device, case.plan, (), None, case.foreign)
            case.doing = (f"BatchNormLike({c}, momentum={momentum!r}).load_state_dict(nn.BatchNorm1d's state_dict()), "
                          "then forwards")
        cases.append(case)
    for case, seen in sessions(kata, cases, lambda case: LOADS):
        c, xs, opts, values = case.c, case.xs, case.opts, case.values
        if case.direction == "into BatchNorm1d":
            mine = seen["states"][0]
            bn = nn.BatchNorm1d(c, momentum=opts["momentum"]).to(device)
            assert_keys(mine, bn.state_dict().keys(), "state_dict() keys", why=LOADS)
            try:
                bn.load_state_dict(mine)
            except RuntimeError as exc:
                fail(f"nn.BatchNorm1d.load_state_dict(your state_dict()) raised: {str(exc).splitlines()[0]} {LOADS}")
            _, states = replay(reference(c, opts, device, values), case.plan[:1])
            check_state(mine, states[0], torch.float32, xs[:1], "after a training forward", why=LOADS)
            (expected,), _ = replay(bn.double(), [{"train": False, "x": xs[1]}])
            tolerance = output_tolerance(torch.float32, xs[1], bn.running_mean, bn.running_var, 1e-5,
                                         values["weight"], values["bias"])
            check_output(seen["outs"][1], xs[1], expected, tolerance,
                         "your eval output, compared with nn.BatchNorm1d loaded from your state_dict()", LOADS)
        else:
            foreign = case.foreign
            outs, states = replay(reference(c, opts, device, foreign=foreign), case.plan)
            for index, step in enumerate(case.plan):
                mode = "training" if step["train"] else "eval"
                if step["train"]:
                    mean, var = batch_statistics(xs[1])
                else:
                    mean, var = foreign["running_mean"], foreign["running_var"]
                tolerance = output_tolerance(torch.float32, xs[1], mean, var, 1e-5, foreign["weight"],
                                             foreign["bias"])
                check_output(seen["outs"][index], xs[1], outs[index], tolerance,
                             f"the {mode} output after loading BatchNorm1d's state_dict()", LOADS)
                check_state(seen["states"][index], states[index], torch.float32, xs,
                            f"after loading BatchNorm1d's state_dict() and a {mode} forward", why=LOADS)


ONE_VALUE = ("The variance of a single value is undefined (the unbiased one divides by 1 - 1 = 0, and would put nan "
             "into running_var); BatchNorm1d raises ValueError('Expected more than 1 value per channel when "
             "training').")


@given(drawn=cases_of(st.tuples(FEATURES, st.booleans(), st.booleans(), SEEDS), 6))
@examples(2)
def test_training_on_one_value_per_feature_raises_value_error(kata, device, drawn):
    """A training forward with one value per feature, (1, C) or (1, C, 1), raises ValueError and changes nothing."""
    cases = []
    for c, three_d, warmup, seed in drawn:
        x = Batch((1, c, 1) if three_d else (1, c), seed=seed).make(device)
        warm = [Batch((3, c), seed=seed + 1).make(device)] if warmup else []
        cases.append(SimpleNamespace(shape=tuple(x.shape), inputs=(c, {}, device, warm, x, True),
                                     doing=f"a training forward of BatchNormLike({c}) on {tuple(x.shape)}"))
    for case, seen in run(kata, refuse, cases):
        raised = seen["raised"]
        if raised is None:
            fail(f"training on an input of shape {case.shape} did not raise ValueError. {ONE_VALUE}")
        if "ValueError" not in raised["types"]:
            fail(f"training on an input of shape {case.shape} raised {raised['type']} instead of ValueError. "
                 f"{ONE_VALUE}")
        check_unchanged(seen, f"after refusing a training input of shape {case.shape}")


def check_unchanged(seen, what):
    if not seen["before"]:
        fail(f"state_dict() is empty: nothing to compare {what}. {SAME_KEYS}")
    for name, value in seen["before"].items():
        after = seen["after"].get(name)
        if after is None or not torch.equal(after, value):
            fail(f"{name} changed {what}: validate the input first, then act, so that a refused call leaves "
                 "the running statistics and the counter exactly as they were.")


def malformed(c, kind, wrong, n):
    """The shape of a malformed input: 1-D, 4-D, or a wrong feature count (one feature broadcasts silently)."""
    other = {"one": 1 if c != 1 else 2, "one more": c + 1, "double": 2 * c}[wrong]
    return {"1-D": (c,), "4-D": (n, c, 2, 2), "features": (n, other), "features 3-D": (n, other, 3)}[kind]


SHAPE_CHECK = ("Check x.dim() in (2, 3) and x.shape[1] == num_features before computing anything, as BatchNorm1d "
               "does: otherwise broadcasting may quietly produce a wrong result.")


@given(drawn=cases_of(st.tuples(FEATURES, st.sampled_from(["1-D", "4-D", "features", "features 3-D"]),
                                st.sampled_from(["one", "one more", "double"]), st.integers(2, 4), st.booleans(),
                                st.booleans(), SEEDS), 6))
@example(drawn=[(5, "features", "one", 3, True, True, 0), (8, "features 3-D", "one", 2, False, False, 1),
                (3, "features", "one more", 2, True, False, 2)])
@examples(2)
def test_malformed_input_raises_before_anything_changes(kata, device, drawn):
    """Input that is not (N, C) or (N, C, L) raises (ValueError; RuntimeError too for a wrong C) and changes nothing."""
    cases = []
    for c, kind, wrong, n, train, warmup, seed in drawn:
        shape = malformed(c, kind, wrong, n)
        x = Batch(shape, seed=seed).make(device)
        warm = [Batch((3, c), seed=seed + 1).make(device)] if warmup else []
        mode = "training" if train else "eval"
        what = (f"a {mode} forward of BatchNormLike({c}) on an input of shape {shape}"
                f" ({'neither 2-D nor 3-D' if kind in ('1-D', '4-D') else f'{shape[1]} features instead of {c}'})")
        cases.append(SimpleNamespace(kind=kind, what=what, inputs=(c, {}, device, warm, x, train),
                                     doing=f"a {mode} forward of BatchNormLike({c}) on {tuple(shape)}"))
    for case, seen in run(kata, refuse, cases):
        allowed = ("ValueError",) if case.kind in ("1-D", "4-D") else ("ValueError", "RuntimeError")
        raised = seen["raised"]
        if raised is None:
            fail(f"{case.what} did not raise. {SHAPE_CHECK}")
        if not any(name in raised["types"] for name in allowed):
            fail(f"{case.what} raised {raised['type']}; expected {' or '.join(allowed)}. {SHAPE_CHECK}")
        check_unchanged(seen, f"after refusing {case.what}")
