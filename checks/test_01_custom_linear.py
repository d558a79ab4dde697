"""Kata 01: CustomLinear, a linear layer from scratch.

Every spec is judged outside the learner's process: a @probe runs the learner's layer in the subject
and returns plain observations; the spec draws the inputs, computes the expected values with its own
torch (F.linear, nn.Linear, plain arithmetic) and decides.

Contract clauses, and the specs that enforce them:

C1  weight is a registered Parameter of shape (out_features, in_features), bias one of shape
    (out_features,); state_dict() holds exactly these; no buffers, no submodules.
    -> state_dict_holds_exactly_weight_and_bias, parameters_are_what_an_optimizer_updates
C2  bias=False (positional or keyword, any falsy value) registers bias as None: layer.bias is None,
    no "bias" in named_parameters() or state_dict(), and forward adds nothing.
    -> bias_false_registers_bias_as_none, forward_computes_x_times_weight_transposed_plus_bias
C3  in_features and out_features are kept as int attributes.   -> sizes_are_kept_as_attributes
C4  repr(layer) is exactly "CustomLinear(in_features=I, out_features=O, bias=B)".   -> repr_matches_nn_linear
C5  Initialisation: weight ~ U(-1/sqrt(in), 1/sqrt(in)); bias zeros or the same range; random enough
    to break symmetry; drawn from torch's global RNG (torch.manual_seed reproduces it).
    -> weight_init_is_uniform_within_one_over_sqrt_in, bias_init_is_zero_or_within_the_weight_bound,
       weight_init_breaks_symmetry, init_is_reproducible_with_torch_manual_seed
C6  reset_parameters() redraws both in place: the same Parameter objects (an optimizer built before
    keeps training the layer).   -> reset_parameters_redraws_in_place
C7  forward(x) for x of shape (*, in_features): 1-D, a batch of one, up to three leading dimensions,
    contiguous or not (transposed, sliced, expanded), in the layer's dtype (float16, bfloat16,
    float32, float64) on its device, returns x @ weight.T + bias of shape (*, out_features) in that
    dtype on that device; calling it twice gives the same result.
    -> forward_computes_x_times_weight_transposed_plus_bias, forward_accepts_any_leading_shape_and_layout,
       forward_in_every_floating_dtype
C8  forward never modifies x, and leaves grad mode as it found it; under torch.no_grad() the output
    has no autograd history.   -> forward_leaves_the_input_and_grad_mode_alone
C9  Gradients flow to weight, bias and x, and are the derivative of forward.
    -> gradients_are_the_derivative_of_forward
C10 Factory arguments: device (str, torch.device or None) and dtype (None: torch's default dtype) are
    honoured at creation; .to(device) and .double() move and cast the parameters.
    -> factory_arguments_device_and_dtype_are_honoured, dtype_none_follows_torchs_default_dtype,
       parameters_follow_to_and_double
C11 state_dict() is interchangeable with nn.Linear's, both ways.   -> state_dict_loads_into_nn_linear_and_back
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from kata_runner.asserts import assert_close, assert_keys, each, fail
from kata_runner.draw import TensorSpec, batches, examples, given, sizes, st, tensors
from kata_runner.probing import names, probe, snapshot

LAYOUT = (
    "nn.Linear stores its weight as (out_features, in_features); keep that layout so state_dicts are interchangeable."
)
LEADING = "A linear layer must accept any leading batch dimensions (*, in_features), like nn.Linear."
ALL_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------------------------ probes
# These run in the subject, next to the learner's code. They observe; the specs below decide. Each takes
# a batch of cases, so that one round trip judges several drawn inputs.


def _build(impl, in_f, out_f, bias, style, factory):
    if style == "keyword":
        return impl.CustomLinear(in_features=in_f, out_features=out_f, bias=bias, **factory)
    return impl.CustomLinear(in_f, out_f, bias, **factory)


def _built_like(impl, weight, bias, x):
    out_f, in_f = weight.shape
    layer = _build(impl, in_f, out_f, bias is not None, "positional", {"device": x.device, "dtype": weight.dtype})
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


@probe
def construct(impl, cases, values=True):
    """What a user can see of freshly built layers (state_dict keys only, unless `values`)."""
    seen = []
    for in_f, out_f, bias, style, factory in cases:
        layer = _build(impl, in_f, out_f, bias, style, factory)
        state = layer.state_dict()
        seen.append({
            "state": snapshot(state) if values else {key: None for key in state},
            "parameters": names(layer.named_parameters()),
            "buffers": names(layer.named_buffers()),
            "children": names(layer.named_children()),
            "bias_is_none": getattr(layer, "bias", "missing") is None,
            "sizes": [getattr(layer, "in_features", None), getattr(layer, "out_features", None)],
            "repr": repr(layer),
        })
    return seen


@probe
def forward(impl, cases):
    seen = []
    for weight, bias, x, no_grad in cases:
        layer = _built_like(impl, weight, bias, x)
        before = torch.is_grad_enabled()
        if no_grad:
            with torch.no_grad():
                out = layer(x)
        else:
            out = layer(x)
        seen.append({
            "out": out,
            "again": layer(x).detach(),
            "x_after": x,
            "grad_mode_kept": torch.is_grad_enabled() == before,
            "history": out.grad_fn is not None or out.requires_grad,
        })
    return seen


@probe
def backward(impl, cases):
    seen = []
    for weight, bias, x, grad_out in cases:
        layer = _built_like(impl, weight, bias, x)
        x.requires_grad_(True)
        (layer(x) * grad_out).sum().backward()  # = backward(grad_out), minus sympy
        seen.append({"weight": layer.weight.grad, "bias": None if bias is None else layer.bias.grad, "x": x.grad})
    return seen


@probe
def sgd_step(impl, cases, reset_first=False):
    """What every optimizer does: update whatever parameters() yields, by its gradient."""
    seen = []
    for weight, bias, x, grad_out, lr in cases:
        layer = _built_like(impl, weight, bias, x)
        params = list(layer.parameters())
        if reset_first:
            with torch.no_grad():
                for p in params:
                    p.zero_()
            layer.reset_parameters()
        start = snapshot(dict(layer.named_parameters()))
        out = layer(x)
        (out * grad_out).sum().backward()
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p -= lr * p.grad
        seen.append({"start": start, "after": snapshot(layer.state_dict())})
    return seen


@probe
def state_dict_round_trip(impl, cases):
    seen = []
    for foreign_state, x in cases:
        out_f, in_f = foreign_state["weight"].shape
        layer = impl.CustomLinear(in_f, out_f, device=x.device)
        own = snapshot(layer.state_dict())
        own_out = layer(x).detach()
        layer.load_state_dict(foreign_state)
        seen.append({"own": own, "own_out": own_out, "loaded_out": layer(x).detach()})
    return seen


@probe
def init_values(impl, cases):
    """For each (in, out, seeds, dtype): the state_dict of a layer built after torch.manual_seed(seed)."""
    seen = []
    for in_f, out_f, seeds, dtype in cases:
        layers = []
        for seed in seeds:
            # = torch.manual_seed(seed) for layers built on the CPU, without its lazy CUDA seeding, which
            # records a stack trace per call (2 ms).
            torch.random.default_generator.manual_seed(seed)
            layers.append(impl.CustomLinear(in_f, out_f, dtype=dtype))
        seen.append([snapshot(layer.state_dict()) for layer in layers])
    return seen


@probe
def default_dtype_layer(impl, cases):
    torch.set_default_dtype(torch.float64)
    try:
        return [snapshot(impl.CustomLinear(in_f, out_f).state_dict()) for in_f, out_f in cases]
    finally:
        torch.set_default_dtype(torch.float32)


@probe
def moved(impl, cases):
    seen = []
    for in_f, out_f, device, x in cases:
        layer = impl.CustomLinear(in_f, out_f).to(device).double()
        seen.append({"state": snapshot(layer.state_dict()), "out": layer(x).detach()})
    return seen


# ------------------------------------------------------------------------------------------ inputs


@st.composite
def linear_cases(draw, dtypes=(torch.float32, torch.float64), layouts=("contiguous", "transposed", "sliced",
                                                                     "expanded")):
    """(in_features, out_features, has_bias, x: TensorSpec of shape (*, in_features), seed for the values)."""
    in_f, out_f = draw(sizes(1, 9)), draw(sizes(1, 7))
    has_bias = draw(st.booleans())
    x = draw(tensors((in_f,), dtypes=dtypes, layouts=layouts))
    seed = draw(st.integers(0, 2**16))
    return in_f, out_f, has_bias, x, seed


class Case:
    """One drawn linear case, built on the spec's device: x, weight, bias and a gradient for the output."""

    def __init__(self, drawn, device):
        self.in_f, self.out_f, has_bias, self.xs, seed = drawn
        self.x = self.xs.make(device)
        dtype = self.x.dtype
        self.weight = TensorSpec((self.out_f, self.in_f), dtype, seed=seed).make(device)
        self.bias = TensorSpec((self.out_f,), dtype, seed=seed + 1).make(device) if has_bias else None
        self.grad_out = TensorSpec((*self.xs.shape[:-1], self.out_f), dtype, seed=seed + 2).make(device)
        self.words = f"{self.xs.describe()} ({'with' if has_bias else 'without'} a bias)"

    @property
    def why(self):
        return "" if len(self.xs.shape) == 2 else LEADING

    def flat(self):
        return self.x.reshape(-1, self.in_f).double(), self.grad_out.reshape(-1, self.out_f).double()


def build(drawn, device):
    return [Case(d, device) for d in drawn]


def doing(verb, cases):
    """What a batch was doing, in words: exact once Hypothesis has shrunk the batch to the failing case."""
    first = cases[0]
    more = f" (and {len(cases) - 1} more drawn inputs)" if len(cases) > 1 else ""
    return f"{verb} {first.words}{more}"


def reference(x, weight, bias):
    """x @ weight.T + bias, in float64."""
    return F.linear(x.double(), weight.double(), None if bias is None else bias.double())


def tolerance_for(dtype, terms):
    if dtype == torch.float64:
        return {"rtol": 1e-9, "atol": 1e-10 * terms}
    eps = torch.finfo(dtype).eps
    return {"rtol": 8 * eps, "atol": 8 * eps * (terms + 1)}


def check_output(out, case, device, words=None):
    x, weight, bias = case.x, case.weight, case.bias
    expected = reference(x, weight, bias)
    what = f"forward on {words or case.words}"
    if not isinstance(out, torch.Tensor):
        fail(f"{what} returned {type(out).__name__}, expected a tensor.")
    if out.dtype != x.dtype:
        fail(f"{what} returned dtype {out.dtype}; the output must keep the input's dtype {x.dtype}.")
    if out.device.type != device.type:
        fail(f"{what} returned a tensor on {out.device.type}; it must stay on {device.type}.")
    tolerance = tolerance_for(x.dtype, weight.shape[1])
    comparable = bias is not None and tuple(out.shape) == tuple(expected.shape) and not bool(bias.eq(0).all())
    if comparable and torch.allclose(out.double(), reference(x, weight, None), **tolerance):
        fail(f"{what} equals x @ weight.T without the bias: is the bias added?")
    why = case.why or "Expected x @ weight.T + bias."
    assert_close(out.double(), expected, what, why=why, **tolerance)


def run_forward(kata, cases, no_grad=None):
    inputs = [(c.weight, c.bias, c.x, bool(no_grad and no_grad[i])) for i, c in enumerate(cases)]
    return kata.run(forward, inputs, doing=doing("forward on", cases), why=cases[0].why)


def _within(values, bound, what):
    biggest = float(values.double().abs().max())
    if biggest > bound * (1 + 1e-6):
        fail(f"{what} reaches |{biggest:.3g}|, beyond 1/sqrt(in_features) = {bound:.3g}.")


def _uniformity(values, bound, what):
    """values must look like U(-bound, bound): inside it, with its spread and its flat shape."""
    values = values.double().reshape(-1)
    biggest = float(values.abs().max())
    if biggest > bound * (1 + 1e-6):
        fail(f"{what} is not scaled: found |w| = {biggest:.3g}, but nn.Linear's init keeps every value within "
             f"1/sqrt(in_features) = {bound:.3g}. Unscaled randn makes activations grow with every layer.")
    n = values.numel()
    std, mean = float(values.std()), float(values.mean())
    expected_std = bound / math.sqrt(3)
    slack = 4 / math.sqrt(n)
    if abs(std / expected_std - 1) > max(0.03, 2 * slack):
        fail(f"{what} has std {std:.3g}; U(-1/sqrt(in), 1/sqrt(in)) has std {expected_std:.3g}. "
             "Initialise like nn.Linear (kaiming_uniform_ with a=sqrt(5)).")
    if abs(mean) > 4 * expected_std / math.sqrt(n):
        fail(f"{what} has mean {mean:.3g}; U(-1/sqrt(in), 1/sqrt(in)) is centred on 0.")
    inner = float((values.abs() < bound / 2).double().mean())
    if abs(inner - 0.5) > max(0.02, 2 * slack):
        fail(f"{what} does not look uniform: {inner:.0%} of the values lie within half the bound (a uniform draw "
             "puts 50% there). Use a uniform initialisation, like nn.Linear.")


STYLES = st.sampled_from(["positional", "keyword"])
SIZES = st.one_of(sizes(1, 40), st.sampled_from([255, 256, 257, 1000]))  # small ones, and some past 256


# ------------------------------------------------------------------------------------------ specs


@given(drawn=batches(st.tuples(sizes(1, 12), sizes(1, 12), STYLES)))
@examples(2)
def test_state_dict_holds_exactly_weight_and_bias(kata, device, drawn):
    """weight (out_features, in_features) and bias (out_features,) are the layer's whole state."""
    seen = kata.run(construct, [(i, o, True, style, {"device": device}) for i, o, style in drawn],
                    doing=f"CustomLinear{drawn[0][:2]}")
    assert seen, "the probe observed no layer"
    for (in_f, out_f, _), layer in each(drawn, seen):
        assert_keys(layer["state"], ["weight", "bias"], "state_dict() keys",
                    why="Only tensors wrapped in nn.Parameter are registered: plain tensor attributes are invisible.")
        if layer["parameters"] != ["weight", "bias"]:
            fail(f"named_parameters() should yield weight then bias; got {layer['parameters']}.")
        if layer["buffers"] or layer["children"]:
            fail(f"CustomLinear should have no buffers or submodules; found {layer['buffers'] + layer['children']}.")
        for name, shape in (("weight", (out_f, in_f)), ("bias", (out_f,))):
            got = tuple(layer["state"][name].shape)
            if got != shape:
                fail(f"{name} has shape {got} for CustomLinear({in_f}, {out_f}); expected {shape}. {LAYOUT}")


@given(drawn=batches(linear_cases()), lr=st.sampled_from([0.5, 0.1, 1.0]))
@examples(2)
def test_parameters_are_what_an_optimizer_updates(kata, device, drawn, lr):
    """An optimizer's step (param -= lr * grad over parameters()) changes the layer's forward as predicted."""
    cases = build(drawn, device)
    seen = kata.run(sgd_step, [(c.weight, c.bias, c.x, c.grad_out, lr) for c in cases],
                    doing=doing("an SGD step on", cases), why=cases[0].why)
    for case, step in each(cases, seen):
        flat_x, flat_g = case.flat()
        expected = {"weight": case.weight.double() - lr * flat_g.T @ flat_x}
        if case.bias is not None:
            expected["bias"] = case.bias.double() - lr * flat_g.sum(0)
        assert_keys(step["after"], expected.keys(), "state_dict() after an optimizer step")
        for name, value in expected.items():
            assert_close(step["after"][name].double(), value, f"{name} after one SGD step (lr={lr}) on {case.words}",
                         why="parameters() must yield the Parameters forward uses, and backward must reach them.",
                         **tolerance_for(case.x.dtype, flat_x.shape[0] * case.in_f))


@given(drawn=batches(st.tuples(sizes(1, 9), sizes(1, 9), STYLES, st.sampled_from([False, 0]))))
@examples(2)
def test_bias_false_registers_bias_as_none(kata, device, drawn):
    """With bias=False, layer.bias is None and nothing named bias is registered."""
    seen = kata.run(construct, [(i, o, flag, style, {"device": device}) for i, o, style, flag in drawn],
                    values=False, doing=f"CustomLinear(..., bias={drawn[0][3]})")
    for (_, _, style, flag), layer in each(drawn, seen):
        if not layer["bias_is_none"]:
            fail(f"with bias={flag!r} ({style}), layer.bias should be None: the bias flag is ignored. "
                 "Use register_parameter('bias', None).")
        assert_keys(layer["parameters"], ["weight"], "named_parameters() with bias=False")
        assert_keys(layer["state"], ["weight"], "state_dict() keys with bias=False")


@given(drawn=batches(st.tuples(SIZES, SIZES, st.booleans())))
@examples(2)
def test_sizes_are_kept_as_attributes(kata, device, drawn):
    """in_features and out_features are stored as int attributes, as nn.Linear does."""
    seen = kata.run(construct, [(i, o, bias, "positional", {"device": device}) for i, o, bias in drawn],
                    values=False)
    for (in_f, out_f, _), layer in each(drawn, seen):
        got = layer["sizes"]
        if got != [in_f, out_f] or not all(type(v) is int for v in got):
            fail(f"CustomLinear({in_f}, {out_f}) should have in_features == {in_f} and out_features == {out_f} "
                 f"(ints); got {got}.")


@given(drawn=batches(st.tuples(SIZES, SIZES, st.booleans())))
@examples(2)
def test_repr_matches_nn_linear(kata, device, drawn):
    """repr(layer) reads CustomLinear(in_features=I, out_features=O, bias=B), via extra_repr."""
    seen = kata.run(construct, [(i, o, bias, "positional", {"device": device}) for i, o, bias in drawn],
                    values=False)
    for (in_f, out_f, bias), layer in each(drawn, seen):
        expected = f"CustomLinear(in_features={in_f}, out_features={out_f}, bias={bias})"
        if layer["repr"] != expected:
            fail(f"repr should be {expected!r}; got {layer['repr']!r}. Override extra_repr().")


@given(drawn=batches(st.tuples(st.sampled_from([1, 3, 64, 256, 1000]), st.sampled_from([None, torch.float64])),
                     max_size=3))
@examples(2)
def test_weight_init_is_uniform_within_one_over_sqrt_in(kata, device, drawn):
    """The weight initialisation matches nn.Linear: U(-1/sqrt(in), 1/sqrt(in))."""
    cases = [(in_f, max(2, 40000 // in_f), (7,), dtype) for in_f, dtype in drawn]
    seen = kata.run(init_values, cases, doing=f"CustomLinear({cases[0][0]}, {cases[0][1]})")
    for (in_f, out_f, _, _), (state,) in each(cases, seen):
        _uniformity(state["weight"], 1 / math.sqrt(in_f), f"the initial weight of CustomLinear({in_f}, {out_f})")


@given(drawn=batches(st.tuples(st.sampled_from([1, 4, 64, 300]), st.sampled_from([256, 2048])), max_size=3))
@examples(2)
def test_bias_init_is_zero_or_within_the_weight_bound(kata, device, drawn):
    """The bias starts at zero or as U(-1/sqrt(in), 1/sqrt(in)), as nn.Linear's does."""
    seen = kata.run(init_values, [(i, o, (3,), None) for i, o in drawn], doing=f"CustomLinear{drawn[0]}")
    for (in_f, out_f), (state,) in each(drawn, seen):
        bias = state["bias"]
        if not bool((bias == 0).all()):
            _uniformity(bias, 1 / math.sqrt(in_f), f"the initial bias of CustomLinear({in_f}, {out_f})")


@given(drawn=batches(st.tuples(sizes(2, 32), sizes(2, 32))))
@examples(2)
def test_weight_init_breaks_symmetry(kata, device, drawn):
    """Initial weights differ between output units, so they do not all learn the same thing."""
    seen = kata.run(init_values, [(i, o, (0,), None) for i, o in drawn])
    for _, (state,) in each(drawn, seen):
        weight = state["weight"]
        if bool((weight == weight[0]).all()) or bool((weight == weight[:, :1]).all()):
            fail("every output unit starts with the same weights (for example all zeros): gradients are then "
                 "identical too, so the symmetry is never broken. Initialise the weight randomly, like nn.Linear.")


@given(drawn=batches(st.tuples(sizes(1, 16), sizes(1, 16), st.integers(0, 1000)), max_size=4))
@examples(2)
def test_init_is_reproducible_with_torch_manual_seed(kata, device, drawn):
    """The initialisation draws from torch's global RNG: torch.manual_seed(s) reproduces it, another seed does not."""
    seen = kata.run(init_values, [(i, o, (seed, seed, seed + 1), None) for i, o, seed in drawn])
    for (in_f, out_f, seed), (first, again, other) in each(drawn, seen):
        for name in ("weight", "bias"):
            assert_close(again[name], first[name], f"{name} after torch.manual_seed({seed}) twice", rtol=0, atol=0,
                         why="Draw with torch's global RNG (nn.init does), so that seeding reproduces a model.")
        if in_f * out_f > 1 and torch.equal(first["weight"], other["weight"]):
            fail("two different seeds gave the same initial weight: the initialisation must be random.")


@given(drawn=batches(linear_cases()), lr=st.sampled_from([0.5, 1.0]))
@examples(2)
def test_reset_parameters_redraws_in_place(kata, device, drawn, lr):
    """reset_parameters() redraws the values in place: an optimizer built before it still trains the layer."""
    cases = build([(i, o, True, xs, seed) for i, o, _, xs, seed in drawn], device)
    seen = kata.run(sgd_step, [(c.weight, c.bias, c.x, c.grad_out, lr) for c in cases], reset_first=True,
                    doing="reset_parameters() on a zeroed layer")
    for case, step in each(cases, seen):
        start = step["start"]
        if set(start) != {"weight", "bias"}:
            fail(f"named_parameters() after reset_parameters() should be weight and bias; got {sorted(start)}.")
        if case.in_f * case.out_f > 1 and bool((start["weight"] == 0).all()):
            fail("reset_parameters() left a zeroed weight at zero: it must draw new values.")
        _within(start["weight"], 1 / math.sqrt(case.in_f), "weight after reset_parameters()")
        _within(start["bias"], 1 / math.sqrt(case.in_f), "bias after reset_parameters()")
        flat_x, flat_g = case.flat()
        expected_weight = start["weight"].double() - lr * flat_g.T @ flat_x
        assert_close(step["after"]["weight"].double(), expected_weight,
                     "weight after an optimizer step taken on the Parameters held before reset_parameters()",
                     why="reset_parameters() must fill the existing Parameters in place, not replace them.",
                     **tolerance_for(case.x.dtype, flat_x.shape[0] * case.in_f))


@given(drawn=batches(linear_cases(layouts=("contiguous",))))
@examples(2)
def test_forward_computes_x_times_weight_transposed_plus_bias(kata, device, drawn):
    """forward(x) equals x @ weight.T + bias (or x @ weight.T without a bias), and twice gives the same."""
    cases = build(drawn, device)
    for case, seen in each(cases, run_forward(kata, cases)):
        check_output(seen["out"], case, device)
        assert_close(seen["again"], seen["out"].detach(), f"a second forward on {case.words}", rtol=0, atol=0,
                     why="forward must not change the layer.")


@given(drawn=batches(linear_cases(), max_size=8))
@examples(3)
def test_forward_accepts_any_leading_shape_and_layout(kata, device, drawn):
    """Inputs of shape (*, in_features) work: 1-D, a batch of one, more leading dimensions, any memory layout."""
    cases = build(drawn, device)
    for case, seen in each(cases, run_forward(kata, cases)):
        check_output(seen["out"], case, device)


@given(drawn=batches(linear_cases(dtypes=ALL_FLOATS), max_size=8))
@examples(2)
def test_forward_in_every_floating_dtype(kata, device, drawn):
    """A layer built in float16, bfloat16, float32 or float64 computes in that dtype."""
    cases = build(drawn, device)
    for case, seen in each(cases, run_forward(kata, cases)):
        check_output(seen["out"], case, device)


@given(drawn=batches(st.tuples(linear_cases(), st.booleans())))
@examples(2)
def test_forward_leaves_the_input_and_grad_mode_alone(kata, device, drawn):
    """forward never writes into x nor switches grad mode; under torch.no_grad() it records no history."""
    cases = build([d for d, _ in drawn], device)
    no_grad = [flag for _, flag in drawn]
    for (case, flag), seen in each(list(zip(cases, no_grad)), run_forward(kata, cases, no_grad)):
        if not torch.equal(seen["x_after"], case.x):
            fail(f"forward on {case.words} changed the input tensor in place: never modify the caller's x.")
        if not seen["grad_mode_kept"]:
            fail("forward switched grad mode on or off: leave torch.is_grad_enabled() as the caller set it.")
        if flag and seen["history"]:
            fail("under torch.no_grad() the output of forward still records autograd history.")
        check_output(seen["out"], case, device)


@given(drawn=batches(linear_cases()))
@examples(2)
def test_gradients_are_the_derivative_of_forward(kata, device, drawn):
    """Backward fills weight.grad, bias.grad and x.grad with the derivative of x @ weight.T + bias."""
    cases = build(drawn, device)
    seen = kata.run(backward, [(c.weight, c.bias, c.x, c.grad_out) for c in cases],
                    doing=doing("backward through", cases), why=cases[0].why)
    for case, grads in each(cases, seen):
        flat_x, flat_g = case.flat()
        expected = {"weight": flat_g.T @ flat_x, "x": case.grad_out.double() @ case.weight.double()}
        if case.bias is not None:
            expected["bias"] = flat_g.sum(0)
        for name, value in expected.items():
            if grads[name] is None:
                fail(f"{name}.grad is None after backward on {case.words}: gradients do not reach {name}. "
                     "Is it an nn.Parameter used in forward?")
            assert_close(grads[name].double(), value, f"the gradient of {name} for {case.words}",
                         why="backward must compute the derivative of x @ weight.T + bias.",
                         **tolerance_for(case.x.dtype, flat_x.shape[0] * max(case.in_f, case.out_f)))


@given(drawn=batches(st.tuples(st.sampled_from(["str", "torch.device"]), st.sampled_from(ALL_FLOATS), sizes(1, 8),
                               sizes(1, 8), st.booleans())))
@examples(2)
def test_factory_arguments_device_and_dtype_are_honoured(kata, device, drawn):
    """Parameters are created on the requested device (str or torch.device) with the requested dtype."""
    why = "Pass device= and dtype= through to the tensors you create (factory arguments)."
    cases = [(i, o, bias, "positional", {"device": device.type if form == "str" else device, "dtype": dtype})
             for form, dtype, i, o, bias in drawn]
    seen = kata.run(construct, cases, doing="CustomLinear(..., device=..., dtype=...)")
    for (_, _, bias, _, factory), layer in each(cases, seen):
        assert_keys(layer["state"], ["weight", "bias"] if bias else ["weight"], "state_dict() keys")
        for name, param in layer["state"].items():
            if param.device.type != device.type:
                fail(f"{name} is on {param.device.type} although the layer was built with "
                     f"device={factory['device']!r}. {why}")
            if param.dtype != factory["dtype"]:
                fail(f"{name} has dtype {param.dtype} although the layer was built with dtype={factory['dtype']}. "
                     f"{why}")


@given(drawn=batches(st.tuples(sizes(1, 8), sizes(1, 8)), max_size=3))
@examples(2)
def test_dtype_none_follows_torchs_default_dtype(kata, device, drawn):
    """Without dtype=, the parameters take torch's default dtype (torch.set_default_dtype), as nn.Linear's do."""
    for _, state in each(drawn, kata.run(default_dtype_layer, drawn)):
        assert_keys(state, ["weight", "bias"], "state_dict() keys")
        for name, param in state.items():
            if param.dtype != torch.float64:
                fail(f"{name} is {param.dtype} although torch's default dtype was float64: with dtype=None, "
                     "create tensors without forcing a dtype.")


@given(drawn=batches(linear_cases(dtypes=(torch.float64,)), max_size=4))
@examples(2)
def test_parameters_follow_to_and_double(kata, device, drawn):
    """Because they are registered, the parameters move with .to(device) and cast with .double()."""
    cases = build(drawn, device)
    seen = kata.run(moved, [(c.in_f, c.out_f, device, c.x) for c in cases], doing=".to(device).double() then forward")
    for case, layer in each(cases, seen):
        assert_keys(layer["state"], ["weight", "bias"], "state_dict() keys after .to().double()")
        for name, param in layer["state"].items():
            if param.device.type != device.type or param.dtype != torch.float64:
                fail(f"{name} is {param.dtype} on {param.device.type} after .to({device.type!r}).double(): "
                     "only registered Parameters are moved and cast.")
        case.weight, case.bias = layer["state"]["weight"], layer["state"].get("bias")
        check_output(layer["out"], case, device, f"{case.words} after .double()")


@given(drawn=batches(linear_cases(dtypes=(torch.float32,))))
@examples(2)
def test_state_dict_loads_into_nn_linear_and_back(kata, device, drawn):
    """state_dict() is interchangeable with nn.Linear's: same keys, same shapes, same outputs."""
    cases = build(drawn, device)
    theirs = [nn.Linear(c.in_f, c.out_f, device=device) for c in cases]
    seen = kata.run(state_dict_round_trip, [(t.state_dict(), c.x) for t, c in zip(theirs, cases)],
                    doing="load_state_dict")
    for (case, reference_layer), layer in each(list(zip(cases, theirs)), seen):
        assert_keys(layer["own"], reference_layer.state_dict().keys(), "state_dict() keys", why=LAYOUT)
        with torch.no_grad():
            expected = reference_layer(case.x)
        assert_close(layer["loaded_out"], expected, f"forward after loading nn.Linear's state_dict, on {case.words}",
                     why=LAYOUT)
        fresh = nn.Linear(case.in_f, case.out_f, device=device)
        try:
            fresh.load_state_dict(layer["own"])
        except RuntimeError as exc:
            fail(f"nn.Linear.load_state_dict(your state_dict()) raised: {str(exc).splitlines()[0]} {LAYOUT}")
        with torch.no_grad():
            expected = fresh(case.x)
        assert_close(layer["own_out"], expected, f"your forward, compared with nn.Linear loaded from your state_dict, "
                     f"on {case.words}", why=LAYOUT)
