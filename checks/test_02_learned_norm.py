"""Kata 02: LearnedNorm, a learned normalisation.

Every spec is judged outside the learner's process: a @probe builds the learner's layer in the subject
from values the judge drew, and returns plain observations; the spec computes the expected values with
its own torch ((x - mean) / (std + eps) in float64, autograd on its own tensors) and decides.

Contract clauses, and the specs that enforce them:

C1  learned_mean and learned_std are registered Parameters of shape (num_features,): state_dict() holds
    exactly these two keys, parameters() yields exactly them, there are no buffers and no submodules.
    -> state_dict_holds_exactly_learned_mean_and_learned_std, parameters_are_what_an_optimizer_updates
C2  A fresh layer has learned_mean = zeros and learned_std = ones: it computes x / (1 + eps).
    -> a_fresh_layer_starts_as_the_identity
C3  eps (int or float, zero included; positional or keyword; default 1e-5) is kept as the number
    self.eps and added to learned_std inside the denominator.
    -> eps_is_kept_as_given, eps_is_added_inside_the_denominator
C4  forward(x) for x of shape (*, num_features): 1-D, a batch of one, up to three leading dimensions,
    contiguous or not (transposed, sliced, expanded), returns (x - learned_mean) / (learned_std + eps),
    per feature, of x's shape.
    -> forward_subtracts_learned_mean_per_feature, forward_divides_by_learned_std_per_feature,
       forward_computes_the_formula, forward_accepts_any_leading_shape_and_layout
C5  After .to(dtype) (float16, bfloat16, float32, float64) the layer computes in that dtype: the output
    has the input's dtype and device.   -> forward_in_every_floating_dtype
C6  forward never modifies x nor the parameters (calling it twice gives the same result), and leaves
    grad mode as it found it; under torch.no_grad() the output has no autograd history.
    -> forward_leaves_the_input_the_parameters_and_grad_mode_alone
C7  Gradients flow to learned_mean, learned_std and x, and are the derivative of forward.
    -> gradients_are_the_derivative_of_forward
C8  load_state_dict({"learned_mean": m, "learned_std": s}) sets the values forward uses, and state_dict()
    gives them back.   -> state_dict_round_trips_through_load_state_dict
C9  Plain gradient descent over parameters() fits the data's statistics (the point of learning them).
    -> gradient_descent_fits_the_data_statistics
"""

import torch
from hypothesis import example

from kata_runner.asserts import assert_close, assert_keys, fail
from kata_runner.draw import TensorSpec, examples, given, sizes, st, tensors
from kata_runner.probing import names, outcome, probe, snapshot

FORMULA = "Expected (x - learned_mean) / (learned_std + eps)."
NAMES = "The parameter names are part of the API: they become the state_dict keys that checkpoints are loaded by."
PER_FEATURE = (
    "One value per feature: shape (num_features,), so every feature gets its own shift and scale "
    "(a single scalar would make all features share them)."
)
LOADING = (
    "load_state_dict({'learned_mean': ..., 'learned_std': ...}) must set both statistics, one value per feature, "
    "shape (num_features,). " + NAMES
)
LEADING = (
    "forward must accept any leading shape (*, num_features), a 1-D input included: broadcasting lines the "
    "(num_features,) parameters up with the last dimension, and the output keeps x's shape."
)
LAYOUT = (
    "forward must accept any memory layout (transposed, sliced, expanded inputs): plain broadcasting works, "
    "x.view(...) does not."
)
NOT_LEARNED = (
    "It must be an nn.Parameter used in forward, not a buffer, and not detached (no .detach(), .data or "
    "torch.no_grad() in forward)."
)
ALL_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
EPS_VALUES = (1e-5, 0, 0.0, 0.1, 0.5, 1, 2, 1e-3)


# ------------------------------------------------------------------------------------------ probes
# These run in the subject, next to the learner's code. They observe; the specs below decide.


def _build(impl, n, eps, style="positional"):
    if eps is None:
        return impl.LearnedNorm(num_features=n) if style == "keyword" else impl.LearnedNorm(n)
    if style == "keyword":
        return impl.LearnedNorm(num_features=n, eps=eps)
    return impl.LearnedNorm(n, eps)


def _loaded(impl, n, eps, mean, std):
    """The learner's layer, moved to the values' device and dtype, holding mean and std (loaded by key);
    and what load_state_dict raised, if it did."""
    norm = _build(impl, n, eps).to(device=mean.device, dtype=mean.dtype)
    return norm, outcome(norm.load_state_dict, {"learned_mean": mean, "learned_std": std})["raised"]


@probe
def construct(impl, n, eps=None, style="positional", x=None):
    norm = _build(impl, n, eps, style)
    eps_seen = getattr(norm, "eps", "missing")
    return {
        "state": snapshot(norm.state_dict()),
        "parameters": names(norm.named_parameters()),
        "buffers": names(norm.named_buffers()),
        "children": names(norm.named_children()),
        "eps": eps_seen if isinstance(eps_seen, (int, float, str)) else f"a {type(eps_seen).__name__}",
        "out": None if x is None else norm.to(device=x.device, dtype=x.dtype)(x).detach(),
    }


@probe
def forward(impl, n, eps, mean, std, x, no_grad=False):
    norm, load_error = _loaded(impl, n, eps, mean, std)
    if load_error is not None:
        return {"load_error": load_error}
    x_before = x.clone()
    state_before = snapshot(norm.state_dict())
    if no_grad:
        with torch.no_grad():
            out = norm(x)
            grad_mode_kept = not torch.is_grad_enabled()
    else:
        out = norm(x)
        grad_mode_kept = torch.is_grad_enabled()
    state_after = snapshot(norm.state_dict())
    return {
        "out": out,
        "again": norm(x).detach(),
        "x_changed": not torch.equal(x, x_before),
        "state_changed": state_before.keys() != state_after.keys()
        or any(not torch.equal(state_before[k], state_after[k]) for k in state_before),
        "grad_mode_kept": grad_mode_kept,
        "history": out.grad_fn is not None or out.requires_grad,
        "state": state_after,
    }


@probe
def backward(impl, n, eps, mean, std, x, grad_out):
    norm, load_error = _loaded(impl, n, eps, mean, std)
    if load_error is not None:
        return {"load_error": load_error}
    x.requires_grad_(True)
    (norm(x) * grad_out).sum().backward()
    registered = dict(norm.named_parameters())
    return {
        "registered": sorted(registered),
        "learned_mean": getattr(registered.get("learned_mean"), "grad", None),
        "learned_std": getattr(registered.get("learned_std"), "grad", None),
        "x": x.grad,
    }


@probe
def sgd_step(impl, n, eps, mean, std, x, grad_out, lr, x_after):
    """What every optimizer does: update whatever parameters() yields, by its gradient."""
    norm, load_error = _loaded(impl, n, eps, mean, std)
    if load_error is not None:
        return {"load_error": load_error}
    params = list(norm.parameters())
    (norm(x) * grad_out).sum().backward()
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
    return {"count": len(params), "after": snapshot(norm.state_dict()), "out": norm(x_after).detach()}


@probe
def fit(impl, n, x, steps, lr):
    """Gradient descent on the Gaussian negative log-likelihood of x under N(learned_mean, learned_std^2)."""
    norm = impl.LearnedNorm(n).to(device=x.device, dtype=x.dtype)
    params = list(norm.parameters())
    start = snapshot(norm.state_dict())
    for _ in range(steps):
        for p in params:
            p.grad = None
        out = norm(x)
        loss = (0.5 * out.pow(2) + torch.log(norm.learned_std + 1e-5)).mean(0).sum()
        loss.backward()
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p -= lr * p.grad
    return {"count": len(params), "start": start, "end": snapshot(norm.state_dict())}


# ------------------------------------------------------------------------------------------ inputs


def reference(x, mean, std, eps):
    """(x - mean) / (std + eps), in float64."""
    return (x.double() - mean.double()) / (std.double() + eps)


def statistics(n, dtype, device, seed):
    """A learned_mean ~ N(0, 1) and a learned_std in [0.5, 2.5), one value per feature."""
    generator = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, generator=generator, dtype=torch.float64)
    std = 0.5 + 2 * torch.rand(n, generator=generator, dtype=torch.float64)
    return mean.to(device=device, dtype=dtype), std.to(device=device, dtype=dtype)


@st.composite
def norm_cases(draw, dtypes=(torch.float32, torch.float64), layouts=("contiguous", "transposed", "sliced",
                                                                   "expanded"), min_leading=0):
    n = draw(sizes(1, 9))
    eps = draw(st.sampled_from(EPS_VALUES))
    xs = draw(tensors((n,), dtypes=dtypes, layouts=layouts, min_leading=min_leading, scale=2.0))
    seed = draw(st.integers(0, 2**16))
    return n, eps, xs, seed


@st.composite
def feature_inputs(draw, n_min=1, n_max=12, min_leading=0, extra=None):
    """n, a TensorSpec of shape (*, n), a seed and one extra drawn value."""
    n = draw(sizes(n_min, n_max))
    xs = draw(tensors((n,), min_leading=min_leading, scale=2.0))
    return n, xs, draw(st.integers(0, 2**16)), None if extra is None else draw(extra)


def tolerance_for(dtype, x, mean, std, eps, terms=1):
    """Rounding of a subtraction, an addition and a division (or a reciprocal and a product) in `dtype`."""
    if dtype == torch.float64:
        return {"rtol": 1e-9, "atol": 1e-10 * terms}
    unit = torch.finfo(dtype).eps
    size = (float(x.double().abs().max()) if x.numel() else 0.0) + float(mean.double().abs().max())
    smallest = float((std.double() + eps).abs().min())
    return {"rtol": 8 * unit, "atol": 8 * unit * terms * (1 + size) / smallest}


def why_for(xs):
    if xs.layout != "contiguous" and len(xs.shape) >= 2:
        return LAYOUT
    return "" if len(xs.shape) == 2 else LEADING


def loaded(seen, n):
    """The probe's observations, once the judge's values were loaded into the layer."""
    error = seen.get("load_error")
    if error is not None:
        fail(f"LearnedNorm({n}).load_state_dict({{'learned_mean': ({n},), 'learned_std': ({n},)}}) raised "
             f"{error['type']}: {error['message'].splitlines()[0][:200]}. {LOADING}")
    return seen


def check_output(out, x, mean, std, eps, device, words, why=FORMULA):
    expected = reference(x, mean, std, eps)
    what = f"forward on {words}"
    if not isinstance(out, torch.Tensor):
        fail(f"{what} returned {type(out).__name__}, expected a tensor.")
    if tuple(out.shape) != tuple(x.shape):
        fail(f"{what} returned shape {tuple(out.shape)}; the output must keep x's shape {tuple(x.shape)}. {LEADING}")
    if out.dtype != x.dtype:
        fail(f"{what} returned dtype {out.dtype}; the output must keep the input's dtype {x.dtype}.")
    if out.device.type != device.type:
        fail(f"{what} returned a tensor on {out.device.type}; it must stay on {device.type}.")
    assert_close(out.double(), expected, what, why=why, **tolerance_for(x.dtype, x, mean, std, eps))


def call(eps):
    return "LearnedNorm(n)" if eps is None else f"LearnedNorm(n, eps={eps!r})"


# ------------------------------------------------------------------------------------------ specs


@given(n=sizes(1, 12), eps=st.sampled_from([None, *EPS_VALUES]), style=st.sampled_from(["positional", "keyword"]))
def test_state_dict_holds_exactly_learned_mean_and_learned_std(kata, device, n, eps, style):
    """learned_mean and learned_std, each of shape (num_features,), are the layer's whole state."""
    seen = kata.run(construct, n, eps, style, doing=f"LearnedNorm({n}, eps={eps!r}) ({style} arguments)")
    assert_keys(seen["state"], ["learned_mean", "learned_std"], "state_dict() keys",
                why=f"{NAMES} eps is a setting, not state: keep it as a plain number.")
    assert_keys(seen["parameters"], ["learned_mean", "learned_std"], "named_parameters()",
                why="Learned values must be nn.Parameters: a buffer is saved, but no optimizer ever updates it.")
    if seen["buffers"] or seen["children"]:
        fail(f"LearnedNorm should have no buffers or submodules; found {seen['buffers'] + seen['children']}.")
    for name in ("learned_mean", "learned_std"):
        got = tuple(seen["state"][name].shape)
        if got != (n,):
            fail(f"{name} has shape {got} for LearnedNorm({n}); expected ({n},). {PER_FEATURE}")


@given(case=norm_cases(), lr=st.sampled_from([0.5, 0.1, 1.0]))
def test_parameters_are_what_an_optimizer_updates(kata, device, case, lr):
    """An optimizer's step (param -= lr * grad over parameters()) moves both statistics as predicted."""
    n, eps, xs, seed = case
    x = xs.make(device)
    mean, std = statistics(n, x.dtype, device, seed)
    grad_out = TensorSpec(xs.shape, x.dtype, seed=seed + 1).make(device)
    x_after = TensorSpec((3, n), x.dtype, seed=seed + 2).make(device)
    seen = kata.run(sgd_step, n, eps, mean, std, x, grad_out, lr, x_after, doing=f"an SGD step on {xs.describe()}",
                    why=why_for(xs))
    loaded(seen, n)
    if seen["count"] == 0:
        fail("LearnedNorm.parameters() is empty, so an optimizer has nothing to learn: learned_mean and "
             "learned_std must be nn.Parameters (a buffer is saved but never trained).")
    m, s = mean.double().requires_grad_(True), std.double().requires_grad_(True)
    (reference(x, m, s, eps) * grad_out.double()).sum().backward()
    expected = {"learned_mean": m.detach() - lr * m.grad, "learned_std": s.detach() - lr * s.grad}
    assert_keys(seen["after"], expected.keys(), "state_dict() after an optimizer step", why=NAMES)
    terms = max(1, x.numel() // n)
    for name, value in expected.items():
        assert_close(seen["after"][name].double(), value, f"{name} after one SGD step (lr={lr}) on {xs.describe()}",
                     why="parameters() must yield the Parameters forward uses, and backward must reach them: "
                         + NOT_LEARNED, **tolerance_for(x.dtype, x, mean, std, eps, terms))
    after_mean, after_std = seen["after"]["learned_mean"], seen["after"]["learned_std"]
    check_output(seen["out"], x_after, after_mean, after_std, eps, device, "a new input after the SGD step")


@given(case=feature_inputs(extra=st.sampled_from([None, *EPS_VALUES])))
@examples(8)
def test_a_fresh_layer_starts_as_the_identity(kata, device, case):
    """A fresh layer has learned_mean all zeros and learned_std all ones, so it computes x / (1 + eps)."""
    n, spec, _, eps = case
    x = spec.make(device)
    seen = kata.run(construct, n, eps, "positional", x, doing=f"{call(eps)} then forward on {spec.describe()}")
    why = "Start from learned_mean = zeros and learned_std = ones: a fresh layer then (almost) leaves its input as is."
    assert_keys(seen["state"], ["learned_mean", "learned_std"], "state_dict() keys", why=NAMES)
    zeros, ones = torch.zeros(n, device=device), torch.ones(n, device=device)
    assert_close(seen["state"]["learned_mean"], zeros, f"the initial learned_mean of LearnedNorm({n})", rtol=0,
                 atol=0, why=why)
    assert_close(seen["state"]["learned_std"], ones, f"the initial learned_std of LearnedNorm({n})", rtol=0,
                 atol=0, why=why)
    check_output(seen["out"], x, zeros, ones, 1e-5 if eps is None else eps, device,
                 f"{spec.describe()} by a fresh {call(eps)}", why=why)


@given(n=sizes(1, 6), eps=st.sampled_from([None, *EPS_VALUES]), style=st.sampled_from(["positional", "keyword"]))
def test_eps_is_kept_as_given(kata, device, n, eps, style):
    """The eps argument (int or float, zero included) is kept as the number norm.eps, and defaults to 1e-5."""
    seen = kata.run(construct, n, eps, style, doing=f"{call(eps)} ({style} arguments)")
    wanted = 1e-5 if eps is None else eps
    got = seen["eps"]
    if isinstance(got, str) or got != wanted:
        fail(f"{call(eps)} ({style} arguments) has eps = {got!r}, expected {wanted!r}: the eps argument is ignored "
             "or not stored. Keep it as the number self.eps (default 1e-5) and use it in forward.")


@given(case=feature_inputs(1, 6, min_leading=1, extra=st.sampled_from([0.25, 0.5, 1, 2, 3.0])))
@examples(8)
def test_eps_is_added_inside_the_denominator(kata, device, case):
    """With learned_mean 0 and learned_std 1, forward(x) is x / (1 + eps): eps sits in the denominator."""
    n, spec, _, eps = case
    x = spec.make(device)
    mean, std = torch.zeros(n, dtype=x.dtype, device=device), torch.ones(n, dtype=x.dtype, device=device)
    seen = kata.run(forward, n, eps, mean, std, x, doing=f"forward of {call(eps)}")
    loaded(seen, n)
    out = seen["out"]
    why = ("eps belongs inside the denominator, (learned_std + eps), where it keeps the division finite as "
           "learned_std approaches 0.")
    if isinstance(out, torch.Tensor) and out.shape == x.shape:
        if torch.allclose(out.double(), x.double() + eps, atol=1e-4):
            fail(f"forward adds eps outside the division, (x - mean) / std + eps, not inside the denominator. {why}")
        if torch.allclose(out.double(), x.double() / (1 + 1e-5), atol=1e-4):
            fail(f"{call(eps)} divides by learned_std (+ 1e-5): the eps argument is ignored in forward. {why}")
    check_output(out, x, mean, std, eps, device, f"{spec.describe()} with eps={eps}, learned_mean 0, learned_std 1",
                 why=why)


@given(case=feature_inputs(2, 8, min_leading=1))
@examples(8)
def test_forward_subtracts_learned_mean_per_feature(kata, device, case):
    """With learned_std at one, forward(x) is x minus learned_mean, feature by feature."""
    n, spec, seed, _ = case
    x = spec.make(device)
    mean = statistics(n, x.dtype, device, seed)[0] + torch.arange(n, dtype=x.dtype, device=device)
    std = torch.ones(n, dtype=x.dtype, device=device)
    seen = kata.run(forward, n, 0, mean, std, x, doing=f"forward on {spec.describe()}")
    loaded(seen, n)
    out = seen["out"]
    if isinstance(out, torch.Tensor) and out.shape == x.shape and torch.allclose(out.double(), (x + mean).double()):
        fail("forward adds learned_mean instead of subtracting it. " + FORMULA)
    check_output(out, x, mean, std, 0, device, f"{spec.describe()} with learned_std = 1 and eps = 0",
                 why=f"Subtract learned_mean, one value per feature, broadcast over the last dimension. {FORMULA}")


@given(case=feature_inputs(2, 8, min_leading=1, extra=st.sampled_from([0, 1e-5, 0.1])))
@examples(8)
def test_forward_divides_by_learned_std_per_feature(kata, device, case):
    """With learned_mean at zero and learned_std away from one, forward(x) is x / (learned_std + eps)."""
    n, spec, seed, eps = case
    x = spec.make(device)
    std = statistics(n, x.dtype, device, seed)[1] + torch.arange(n, dtype=x.dtype, device=device)
    mean = torch.zeros(n, dtype=x.dtype, device=device)
    seen = kata.run(forward, n, eps, mean, std, x, doing=f"forward on {spec.describe()}")
    loaded(seen, n)
    out = seen["out"]
    if isinstance(out, torch.Tensor) and out.shape == x.shape and torch.allclose(
            out.double(), x.double() * (std.double() + eps), atol=1e-4):
        fail("forward multiplies by learned_std instead of dividing by it: the mistake is invisible while "
             f"learned_std is 1, but with learned_std = {[round(v, 2) for v in std.tolist()]} it scales the "
             f"wrong way. {FORMULA}")
    check_output(out, x, mean, std, eps, device, f"{spec.describe()} with learned_mean = 0",
                 why=f"Divide by (learned_std + eps), per feature; do not multiply. {FORMULA}")


@given(case=norm_cases())
def test_forward_computes_the_formula(kata, device, case):
    """forward(x) equals (x - learned_mean) / (learned_std + eps) for any learned values."""
    n, eps, xs, seed = case
    x = xs.make(device)
    mean, std = statistics(n, x.dtype, device, seed)
    seen = kata.run(forward, n, eps, mean, std, x, doing=f"forward on {xs.describe()}", why=why_for(xs))
    loaded(seen, n)
    check_output(seen["out"], x, mean, std, eps, device, f"{xs.describe()} (eps={eps})",
                 why=f"{FORMULA} The statistics are the learned ones, not the batch's own.")


@given(case=norm_cases(min_leading=0))
@example(case=(4, 0.1, TensorSpec((3, 2, 4), torch.float32, "transposed", 1, 2.0), 5))
@example(case=(3, 0.1, TensorSpec((2, 2, 3), torch.float32, "expanded", 2, 2.0), 6))
@example(case=(5, 0.1, TensorSpec((5,), torch.float32, "contiguous", 3, 2.0), 7))
@examples(16)
def test_forward_accepts_any_leading_shape_and_layout(kata, device, case):
    """Inputs of shape (*, num_features) work: 1-D, a batch of one, more leading dimensions, any memory layout."""
    n, eps, xs, seed = case
    x = xs.make(device)
    mean, std = statistics(n, x.dtype, device, seed)
    seen = kata.run(forward, n, eps, mean, std, x, doing=f"forward on {xs.describe()}", why=why_for(xs))
    loaded(seen, n)
    check_output(seen["out"], x, mean, std, eps, device, xs.describe(), why=why_for(xs) or FORMULA)


@given(case=norm_cases(dtypes=ALL_FLOATS))
def test_forward_in_every_floating_dtype(kata, device, case):
    """A layer cast with .to(dtype) to float16, bfloat16, float32 or float64 computes in that dtype."""
    n, eps, xs, seed = case
    x = xs.make(device)
    mean, std = statistics(n, x.dtype, device, seed)
    seen = kata.run(forward, n, eps, mean, std, x, doing=f".to({x.dtype}) then forward on {xs.describe()}",
                    why=why_for(xs))
    loaded(seen, n)
    for name, value in seen["state"].items():
        if value.dtype != x.dtype:
            fail(f"{name} is {value.dtype} after .to({x.dtype}): only registered Parameters are cast.")
    check_output(seen["out"], x, mean, std, eps, device, xs.describe(),
                 why=f"{FORMULA} Compute in the input's dtype: do not cast x to another one.")


@given(case=norm_cases(), no_grad=st.booleans())
@examples(8)
def test_forward_leaves_the_input_the_parameters_and_grad_mode_alone(kata, device, case, no_grad):
    """forward never writes into x or the parameters, nor switches grad mode; under no_grad it records no history."""
    n, eps, xs, seed = case
    x = xs.make(device)
    mean, std = statistics(n, x.dtype, device, seed)
    seen = kata.run(forward, n, eps, mean, std, x, no_grad, doing=f"forward on {xs.describe()}",
                    why=why_for(xs) or "Never modify the caller's x in place: compute a new tensor.")
    loaded(seen, n)
    if seen["x_changed"]:
        fail(f"forward on {xs.describe()} changed the input tensor in place: never modify the caller's x "
             "(x - learned_mean, not x.sub_(learned_mean)).")
    if seen["state_changed"]:
        fail("forward changed learned_mean or learned_std: only an optimizer may change the parameters.")
    if not seen["grad_mode_kept"]:
        fail("forward switched grad mode on or off: leave torch.is_grad_enabled() as the caller set it.")
    if no_grad and seen["history"]:
        fail("under torch.no_grad() the output of forward still records autograd history.")
    if not no_grad and not seen["history"]:
        fail("forward's output does not require grad: neither learned_mean nor learned_std takes part in autograd, "
             "so nothing can learn. " + NOT_LEARNED)
    check_output(seen["out"], x, mean, std, eps, device, xs.describe())
    assert_close(seen["again"], seen["out"].detach(), f"a second forward on {xs.describe()}", rtol=0, atol=0,
                 why="forward must not change the layer.")


@given(case=norm_cases())
def test_gradients_are_the_derivative_of_forward(kata, device, case):
    """Backward fills learned_mean.grad, learned_std.grad and x.grad with the derivative of the formula."""
    n, eps, xs, seed = case
    x = xs.make(device)
    mean, std = statistics(n, x.dtype, device, seed)
    grad_out = TensorSpec(xs.shape, x.dtype, seed=seed + 3).make(device)
    seen = kata.run(backward, n, eps, mean, std, x, grad_out, doing=f"backward through {xs.describe()}",
                    why=why_for(xs))
    loaded(seen, n)
    xx, m, s = (t.double().requires_grad_(True) for t in (x, mean, std))
    (reference(xx, m, s, eps) * grad_out.double()).sum().backward()
    expected = {"learned_mean": m.grad, "learned_std": s.grad, "x": xx.grad}
    terms = max(1, x.numel() // n)
    for name, value in expected.items():
        got = seen[name]
        if got is None:
            if name == "x":
                fail(f"x.grad is None after backward on {xs.describe()}: gradients must flow back through the "
                     "normalisation to x (do not detach x), or the layers before this one never learn.")
            fail(f"{name}.grad is None after backward on {xs.describe()} (registered parameters: "
                 f"{seen['registered']}): no gradient reaches {name}, so an optimizer never moves it. {NOT_LEARNED}")
        assert_close(got.double(), value, f"the gradient of {name} for {xs.describe()}",
                     why="backward must compute the derivative of (x - learned_mean) / (learned_std + eps).",
                     **tolerance_for(x.dtype, x, mean, std, eps, terms))


@given(n=sizes(1, 9), eps=st.sampled_from(EPS_VALUES), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([torch.float32, torch.float64]))
@examples(8)
def test_state_dict_round_trips_through_load_state_dict(kata, device, n, eps, seed, dtype):
    """load_state_dict sets the values forward uses, and state_dict() gives them back unchanged."""
    mean, std = statistics(n, dtype, device, seed)
    x = TensorSpec((4, n), dtype, seed=seed + 4).make(device)
    seen = loaded(kata.run(forward, n, eps, mean, std, x, doing="load_state_dict then forward"), n)
    assert_keys(seen["state"], ["learned_mean", "learned_std"], "state_dict() keys", why=NAMES)
    for name, value in (("learned_mean", mean), ("learned_std", std)):
        assert_close(seen["state"][name], value, f"{name} in state_dict() after load_state_dict", rtol=0, atol=0,
                     why=NAMES)
    check_output(seen["out"], x, mean, std, eps, device, "an input after load_state_dict",
                 why=f"forward must use the loaded values. {FORMULA}")


def _fitted(x, steps, lr):
    """The judge's own run of the same gradient descent, from zeros and ones."""
    n = x.shape[-1]
    m = torch.zeros(n, dtype=torch.float64, device=x.device, requires_grad=True)
    s = torch.ones(n, dtype=torch.float64, device=x.device, requires_grad=True)
    for _ in range(steps):
        m.grad = s.grad = None
        loss = (0.5 * reference(x, m, s, 1e-5).pow(2) + torch.log(s + 1e-5)).mean(0).sum()
        loss.backward()
        with torch.no_grad():
            m -= lr * m.grad
            s -= lr * s.grad
    return {"learned_mean": m.detach(), "learned_std": s.detach()}


@given(n=sizes(1, 4), seed=st.integers(0, 2**16))
@examples(4)
def test_gradient_descent_fits_the_data_statistics(kata, device, n, seed):
    """Fifty SGD steps on the Gaussian negative log-likelihood pull both parameters toward the data's statistics."""
    generator = torch.Generator().manual_seed(seed)
    data_mean = torch.randn(n, generator=generator, dtype=torch.float64) * 2
    data_std = 0.5 + 2.5 * torch.rand(n, generator=generator, dtype=torch.float64)
    x = (torch.randn(256, n, generator=generator, dtype=torch.float64) * data_std + data_mean).to(device)
    seen = kata.run(fit, n, x, 50, 0.2, doing="50 SGD steps on a float64 LearnedNorm", why=NOT_LEARNED)
    if seen["count"] == 0:
        fail("LearnedNorm.parameters() is empty, so an optimizer has nothing to learn: learned_mean and "
             "learned_std must be nn.Parameters (a buffer is saved but never trained).")
    target = {"learned_mean": x.mean(0), "learned_std": x.std(0, unbiased=False)}
    expected = _fitted(x, 50, 0.2)
    assert_keys(seen["end"], target.keys(), "state_dict() keys", why=NAMES)
    for name, wanted in target.items():
        start, end = seen["start"][name].double(), seen["end"][name].double()
        if end.shape != wanted.shape:
            fail(f"{name} has shape {tuple(end.shape)}, expected {tuple(wanted.shape)}. {PER_FEATURE}")
        before, after = (start - wanted).abs(), (end - wanted).abs()
        if bool((after >= before).any()):
            i = int((after - before).argmax())
            stats = {k: [round(v, 3) for v in t.tolist()] for k, t in target.items()}
            fail(f"after 50 SGD steps fitting data with mean {stats['learned_mean']} and std "
                 f"{stats['learned_std']}, {name}[{i}] went from {float(start[i]):.4g} to {float(end[i]):.4g} "
                 f"instead of toward {float(wanted[i]):.4g}: the parameters do not learn. Gradients must reach both "
                 f"parameters (nothing detached), and forward must compute {FORMULA[9:]}")
        assert_close(end, expected[name], f"{name} after 50 SGD steps", rtol=1e-6, atol=1e-8,
                     why=f"Each step must follow the gradient of {FORMULA[9:]}")
