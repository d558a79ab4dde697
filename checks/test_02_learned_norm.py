"""Kata 02: LearnedNorm, a learned normalisation.

Every spec is judged outside the learner's process: a @probe builds the learner's layers in the subject
from values the judge drew, and returns plain observations; the spec computes the expected values with
its own torch ((x - mean) / (std + eps) and its derivative, worked out in float64) and decides. Each probe
call judges a batch of drawn cases, and a failure names the case it happened on.

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

import functools

import torch
from hypothesis import example

from kata_runner.asserts import assert_close, assert_keys, fail
from kata_runner.batching import batch_doing, cases_of, each_case, judged
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
EMPTY_PARAMETERS = (
    "LearnedNorm.parameters() is empty, so an optimizer has nothing to learn: learned_mean and "
    "learned_std must be nn.Parameters (a buffer is saved but never trained)."
)
ALL_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
EPS_VALUES = (1e-5, 0, 0.0, 0.1, 0.5, 1, 2, 1e-3)
FIT_STEPS, FIT_LR = 50, 0.2


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


def _construct(impl, n, eps, style, x):
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
def construct(impl, cases):
    """Fresh layers, one per (n, eps, style, x or None); forward on x when there is one."""
    return each_case(impl, cases, _construct)


def _forward(impl, n, eps, mean, std, x, no_grad):
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
def forward(impl, cases):
    """Per (n, eps, mean, std, x, no_grad): load mean and std, run forward on x (under no_grad if asked) and
    again; what it returned, and what it did to x, the parameters and grad mode."""
    return each_case(impl, cases, _forward)


def _backward(impl, n, eps, mean, std, x, grad_out):
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
def backward(impl, cases):
    return each_case(impl, cases, _backward)


def _sgd_step(impl, n, eps, mean, std, x, grad_out, lr, x_after):
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
def sgd_step(impl, cases):
    """What every optimizer does: update whatever parameters() yields, by its gradient."""
    return each_case(impl, cases, _sgd_step)


def _fit(impl, n, x, steps, lr):
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


@probe
def fit(impl, cases):
    """Gradient descent on the Gaussian negative log-likelihood of x under N(learned_mean, learned_std^2)."""
    return each_case(impl, cases, _fit)


# ------------------------------------------------------------------------------------------ inputs


def reference(x, mean, std, eps):
    """(x - mean) / (std + eps), in float64."""
    return (x.double() - mean.double()) / (std.double() + eps)


def reference_gradients(x, mean, std, eps, grad_out):
    """The derivative of sum(grad_out * (x - mean) / (std + eps)) with respect to mean, std and x, in float64."""
    n = mean.shape[0]
    centred, denominator = x.double() - mean.double(), std.double() + eps
    dx = grad_out.double() / denominator
    return {
        "learned_mean": -dx.reshape(-1, n).sum(0),
        "learned_std": -(dx * centred / denominator).reshape(-1, n).sum(0),
        "x": dx,
    }


def statistics(n, dtype, device, seed):
    """A learned_mean ~ N(0, 1) and a learned_std in [0.5, 2.5), one value per feature."""
    generator = torch.Generator().manual_seed(seed)
    mean = torch.randn(n, generator=generator, dtype=torch.float64)
    std = 0.5 + 2 * torch.rand(n, generator=generator, dtype=torch.float64)
    return mean.to(device=device, dtype=dtype), std.to(device=device, dtype=dtype)


SEEDS = st.integers(0, 2**16)
UP_TO_9, UP_TO_12 = sizes(1, 9), sizes(1, 12)
EPS = st.sampled_from(EPS_VALUES)
EPS_OR_DEFAULT = st.sampled_from([None, *EPS_VALUES])
STYLES = st.sampled_from(["positional", "keyword"])
LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")


@functools.cache
def inputs_of(n, dtypes, layouts=LAYOUTS, min_leading=0):
    """x of shape (*, n), scaled by 2 (built once per n: a strategy costs validation on every use)."""
    return tensors((n,), dtypes=dtypes, layouts=layouts, min_leading=min_leading, scale=2.0)


@st.composite
def norm_cases(draw, dtypes=(torch.float32, torch.float64), sides=UP_TO_9, min_leading=0):
    n = draw(sides)
    eps = draw(EPS)
    xs = draw(inputs_of(n, dtypes, min_leading=min_leading))
    return n, eps, xs, draw(SEEDS)


@st.composite
def feature_inputs(draw, sides=UP_TO_12, min_leading=0, extra=None):
    """n, a TensorSpec of shape (*, n), a seed and one extra drawn value."""
    n = draw(sides)
    xs = draw(inputs_of(n, (torch.float32, torch.float64), min_leading=min_leading))
    return n, xs, draw(SEEDS), None if extra is None else draw(extra)


class Case:
    """One drawn case, built on the spec's device: x and learned statistics drawn from the seed."""

    def __init__(self, drawn, device):
        self.n, self.eps, self.xs, self.seed = drawn
        self.x = self.xs.make(device)
        self.mean, self.std = statistics(self.n, self.x.dtype, device, self.seed)
        self.words = self.xs.describe()
        self.why = why_for(self.xs)

    def loaded(self, no_grad=False):
        """The forward probe's inputs: this case's statistics loaded into LearnedNorm(n, eps), then forward on x."""
        return self.n, self.eps, self.mean, self.std, self.x, no_grad


def build(drawn, device):
    return [Case(d, device) for d in drawn]


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


def forward_on(case):
    return f"forward on {case.words}"


def run_forward(kata, cases, doing=forward_on, no_grad=None):
    """The forward probe on every case (no_grad: one flag per case); pairs of (case, observation)."""
    inputs = [case.loaded(bool(no_grad and no_grad[i])) for i, case in enumerate(cases)]
    seen = kata.run(forward, inputs, doing=batch_doing([doing(c) for c in cases]), why=cases[0].why)
    for case, observed in judged(cases, seen, doing, lambda c: c.why):
        yield case, loaded(observed, case.n)


# ------------------------------------------------------------------------------------------ specs


@given(drawn=cases_of(st.tuples(sizes(1, 12), EPS_OR_DEFAULT, STYLES), 8))
@examples(2)
def test_state_dict_holds_exactly_learned_mean_and_learned_std(kata, device, drawn):
    """learned_mean and learned_std, each of shape (num_features,), are the layer's whole state."""
    doings = [f"LearnedNorm({n}, eps={eps!r}) ({style} arguments)" for n, eps, style in drawn]
    seen = kata.run(construct, [(n, eps, style, None) for n, eps, style in drawn], doing=batch_doing(doings))
    for ((n, _, _), made), layer in judged(list(zip(drawn, doings)), seen, lambda c: c[1]):
        assert_keys(layer["state"], ["learned_mean", "learned_std"], f"the state_dict() keys of {made}",
                    why=f"{NAMES} eps is a setting, not state: keep it as a plain number.")
        assert_keys(layer["parameters"], ["learned_mean", "learned_std"], f"the named_parameters() of {made}",
                    why="Learned values must be nn.Parameters: a buffer is saved, but no optimizer ever updates it.")
        if layer["buffers"] or layer["children"]:
            fail(f"LearnedNorm should have no buffers or submodules; found {layer['buffers'] + layer['children']}.")
        for name in ("learned_mean", "learned_std"):
            got = tuple(layer["state"][name].shape)
            if got != (n,):
                fail(f"{name} has shape {got} for LearnedNorm({n}); expected ({n},). {PER_FEATURE}")


@given(drawn=cases_of(st.tuples(norm_cases(), st.sampled_from([0.5, 0.1, 1.0])), 8))
@examples(2)
def test_parameters_are_what_an_optimizer_updates(kata, device, drawn):
    """An optimizer's step (param -= lr * grad over parameters()) moves both statistics as predicted."""
    cases = build([case for case, _ in drawn], device)
    inputs = []
    for case, (_, lr) in zip(cases, drawn):
        case.lr = lr
        case.grad_out = TensorSpec(case.xs.shape, case.x.dtype, seed=case.seed + 1).make(device)
        case.x_after = TensorSpec((3, case.n), case.x.dtype, seed=case.seed + 2).make(device)
        inputs.append((case.n, case.eps, case.mean, case.std, case.x, case.grad_out, lr, case.x_after))
    seen = kata.run(sgd_step, inputs, doing=batch_doing([f"an SGD step on {c.words}" for c in cases]),
                    why=cases[0].why)
    for case, step in judged(cases, seen, lambda c: f"an SGD step on {c.words}", lambda c: c.why):
        loaded(step, case.n)
        if step["count"] == 0:
            fail(EMPTY_PARAMETERS)
        grads = reference_gradients(case.x, case.mean, case.std, case.eps, case.grad_out)
        expected = {"learned_mean": case.mean.double() - case.lr * grads["learned_mean"],
                    "learned_std": case.std.double() - case.lr * grads["learned_std"]}
        assert_keys(step["after"], expected.keys(), "state_dict() after an optimizer step", why=NAMES)
        terms = max(1, case.x.numel() // case.n)
        for name, value in expected.items():
            assert_close(step["after"][name].double(), value,
                         f"{name} after one SGD step (lr={case.lr}) on {case.words}",
                         why="parameters() must yield the Parameters forward uses, and backward must reach them: "
                             + NOT_LEARNED, **tolerance_for(case.x.dtype, case.x, case.mean, case.std, case.eps, terms))
        after_mean, after_std = step["after"]["learned_mean"], step["after"]["learned_std"]
        check_output(step["out"], case.x_after, after_mean, after_std, case.eps, device,
                     f"a new input after the SGD step on {case.words}")


@given(drawn=cases_of(feature_inputs(extra=EPS_OR_DEFAULT), 8))
@examples(2)
def test_a_fresh_layer_starts_as_the_identity(kata, device, drawn):
    """A fresh layer has learned_mean all zeros and learned_std all ones, so it computes x / (1 + eps)."""
    xs = [spec.make(device) for _, spec, _, _ in drawn]
    words = [f"{call(eps)} then forward on {spec.describe()}" for _, spec, _, eps in drawn]
    seen = kata.run(construct, [(n, eps, "positional", x) for (n, _, _, eps), x in zip(drawn, xs)],
                    doing=batch_doing(words))
    why = "Start from learned_mean = zeros and learned_std = ones: a fresh layer then (almost) leaves its input as is."
    cases = list(zip(drawn, xs, words))
    for ((n, spec, _, eps), x, _), layer in judged(cases, seen, lambda c: c[2]):
        assert_keys(layer["state"], ["learned_mean", "learned_std"], "state_dict() keys", why=NAMES)
        zeros, ones = torch.zeros(n, device=device), torch.ones(n, device=device)
        assert_close(layer["state"]["learned_mean"], zeros, f"the initial learned_mean of LearnedNorm({n})", rtol=0,
                     atol=0, why=why)
        assert_close(layer["state"]["learned_std"], ones, f"the initial learned_std of LearnedNorm({n})", rtol=0,
                     atol=0, why=why)
        check_output(layer["out"], x, zeros, ones, 1e-5 if eps is None else eps, device,
                     f"{spec.describe()} by a fresh {call(eps)}", why=why)


@given(drawn=cases_of(st.tuples(sizes(1, 6), EPS_OR_DEFAULT, STYLES), 8))
@examples(2)
def test_eps_is_kept_as_given(kata, device, drawn):
    """The eps argument (int or float, zero included) is kept as the number norm.eps, and defaults to 1e-5."""
    words = [f"{call(eps)} ({style} arguments)" for _, eps, style in drawn]
    seen = kata.run(construct, [(n, eps, style, None) for n, eps, style in drawn], doing=batch_doing(words))
    for ((_, eps, _), made), layer in judged(list(zip(drawn, words)), seen, lambda c: c[1]):
        wanted = 1e-5 if eps is None else eps
        got = layer["eps"]
        if isinstance(got, str) or got != wanted:
            fail(f"{made} has eps = {got!r}, expected {wanted!r}: the eps argument is ignored "
                 "or not stored. Keep it as the number self.eps (default 1e-5) and use it in forward.")


def with_statistics(drawn, device, mean_of, std_of, eps_of):
    """Cases whose learned statistics are chosen by the spec: mean_of/std_of(n, x, seed), eps_of(extra)."""
    cases = []
    for n, xs, seed, extra in drawn:
        case = Case((n, eps_of(extra), xs, seed), device)
        case.mean, case.std = mean_of(n, case.x, seed), std_of(n, case.x, seed)
        cases.append(case)
    return cases


def zeros_like_features(n, x, seed):
    return torch.zeros(n, dtype=x.dtype, device=x.device)


def ones_like_features(n, x, seed):
    return torch.ones(n, dtype=x.dtype, device=x.device)


@given(drawn=cases_of(feature_inputs(sizes(1, 6), min_leading=1, extra=st.sampled_from([0.25, 0.5, 1, 2, 3.0])), 8))
@examples(2)
def test_eps_is_added_inside_the_denominator(kata, device, drawn):
    """With learned_mean 0 and learned_std 1, forward(x) is x / (1 + eps): eps sits in the denominator."""
    cases = with_statistics(drawn, device, zeros_like_features, ones_like_features, lambda eps: eps)
    why = ("eps belongs inside the denominator, (learned_std + eps), where it keeps the division finite as "
           "learned_std approaches 0.")
    for case, seen in run_forward(kata, cases, lambda c: f"forward of {call(c.eps)} on {c.words}"):
        out, x, eps = seen["out"], case.x, case.eps
        if isinstance(out, torch.Tensor) and out.shape == x.shape:
            if torch.allclose(out.double(), x.double() + eps, atol=1e-4):
                fail(f"forward adds eps outside the division, (x - mean) / std + eps, not inside the denominator. "
                     f"{why}")
            if torch.allclose(out.double(), x.double() / (1 + 1e-5), atol=1e-4):
                fail(f"{call(eps)} divides by learned_std (+ 1e-5): the eps argument is ignored in forward. {why}")
        check_output(out, x, case.mean, case.std, eps, device,
                     f"{case.words} with eps={eps}, learned_mean 0, learned_std 1", why=why)


@given(drawn=cases_of(feature_inputs(sizes(2, 8), min_leading=1), 8))
@examples(2)
def test_forward_subtracts_learned_mean_per_feature(kata, device, drawn):
    """With learned_std at one, forward(x) is x minus learned_mean, feature by feature."""
    def mean_of(n, x, seed):
        return statistics(n, x.dtype, device, seed)[0] + torch.arange(n, dtype=x.dtype, device=device)

    cases = with_statistics(drawn, device, mean_of, ones_like_features, lambda _: 0)
    for case, seen in run_forward(kata, cases):
        out, x, mean = seen["out"], case.x, case.mean
        if isinstance(out, torch.Tensor) and out.shape == x.shape and torch.allclose(out.double(),
                                                                                    (x + mean).double()):
            fail("forward adds learned_mean instead of subtracting it. " + FORMULA)
        check_output(out, x, mean, case.std, 0, device, f"{case.words} with learned_std = 1 and eps = 0",
                     why=f"Subtract learned_mean, one value per feature, broadcast over the last dimension. {FORMULA}")


@given(drawn=cases_of(feature_inputs(sizes(2, 8), min_leading=1, extra=st.sampled_from([0, 1e-5, 0.1])), 8))
@examples(2)
def test_forward_divides_by_learned_std_per_feature(kata, device, drawn):
    """With learned_mean at zero and learned_std away from one, forward(x) is x / (learned_std + eps)."""
    def std_of(n, x, seed):
        return statistics(n, x.dtype, device, seed)[1] + torch.arange(n, dtype=x.dtype, device=device)

    cases = with_statistics(drawn, device, zeros_like_features, std_of, lambda eps: eps)
    for case, seen in run_forward(kata, cases):
        out, x, std, eps = seen["out"], case.x, case.std, case.eps
        if isinstance(out, torch.Tensor) and out.shape == x.shape and torch.allclose(
                out.double(), x.double() * (std.double() + eps), atol=1e-4):
            fail("forward multiplies by learned_std instead of dividing by it: the mistake is invisible while "
                 f"learned_std is 1, but with learned_std = {[round(v, 2) for v in std.tolist()]} it scales the "
                 f"wrong way. {FORMULA}")
        check_output(out, x, case.mean, std, eps, device, f"{case.words} with learned_mean = 0",
                     why=f"Divide by (learned_std + eps), per feature; do not multiply. {FORMULA}")


@given(drawn=cases_of(norm_cases(), 8))
@examples(2)
def test_forward_computes_the_formula(kata, device, drawn):
    """forward(x) equals (x - learned_mean) / (learned_std + eps) for any learned values."""
    for case, seen in run_forward(kata, build(drawn, device)):
        check_output(seen["out"], case.x, case.mean, case.std, case.eps, device, f"{case.words} (eps={case.eps})",
                     why=f"{FORMULA} The statistics are the learned ones, not the batch's own.")


@given(drawn=cases_of(norm_cases(), 12))
@example(drawn=[(4, 0.1, TensorSpec((3, 2, 4), torch.float32, "transposed", 1, 2.0), 5),
                (3, 0.1, TensorSpec((2, 2, 3), torch.float32, "expanded", 2, 2.0), 6),
                (5, 0.1, TensorSpec((5,), torch.float32, "contiguous", 3, 2.0), 7)])
@examples(2)
def test_forward_accepts_any_leading_shape_and_layout(kata, device, drawn):
    """Inputs of shape (*, num_features) work: 1-D, a batch of one, more leading dimensions, any memory layout."""
    for case, seen in run_forward(kata, build(drawn, device)):
        check_output(seen["out"], case.x, case.mean, case.std, case.eps, device, case.words,
                     why=case.why or FORMULA)


@given(drawn=cases_of(norm_cases(dtypes=ALL_FLOATS), 8))
@examples(2)
def test_forward_in_every_floating_dtype(kata, device, drawn):
    """A layer cast with .to(dtype) to float16, bfloat16, float32 or float64 computes in that dtype."""
    cases = build(drawn, device)
    for case, seen in run_forward(kata, cases, lambda c: f".to({c.x.dtype}) then forward on {c.words}"):
        dtype = case.x.dtype
        for name, value in seen["state"].items():
            if value.dtype != dtype:
                fail(f"{name} is {value.dtype} after .to({dtype}): only registered Parameters are cast.")
        check_output(seen["out"], case.x, case.mean, case.std, case.eps, device, case.words,
                     why=f"{FORMULA} Compute in the input's dtype: do not cast x to another one.")


@given(drawn=cases_of(st.tuples(norm_cases(), st.booleans()), 8))
@examples(2)
def test_forward_leaves_the_input_the_parameters_and_grad_mode_alone(kata, device, drawn):
    """forward never writes into x or the parameters, nor switches grad mode; under no_grad it records no history."""
    cases = build([case for case, _ in drawn], device)
    for case, (_, no_grad) in zip(cases, drawn):
        case.no_grad = no_grad
        case.why = case.why or "Never modify the caller's x in place: compute a new tensor."
    for case, seen in run_forward(kata, cases, no_grad=[c.no_grad for c in cases]):
        words = case.words + (" under torch.no_grad()" if case.no_grad else "")
        if seen["x_changed"]:
            fail(f"forward on {case.words} changed the input tensor in place: never modify the caller's x "
                 "(x - learned_mean, not x.sub_(learned_mean)).")
        if seen["state_changed"]:
            fail(f"forward on {words} changed learned_mean or learned_std: only an optimizer may change the "
                 "parameters.")
        if not seen["grad_mode_kept"]:
            fail(f"forward on {words} switched grad mode on or off: leave torch.is_grad_enabled() as the caller "
                 "set it.")
        if case.no_grad and seen["history"]:
            fail(f"under torch.no_grad() the output of forward on {case.words} still records autograd history.")
        if not case.no_grad and not seen["history"]:
            fail("forward's output does not require grad: neither learned_mean nor learned_std takes part in "
                 "autograd, so nothing can learn. " + NOT_LEARNED)
        check_output(seen["out"], case.x, case.mean, case.std, case.eps, device, case.words)
        assert_close(seen["again"], seen["out"].detach(), f"a second forward on {case.words}", rtol=0, atol=0,
                     why="forward must not change the layer.")


@given(drawn=cases_of(norm_cases(), 8))
@examples(2)
def test_gradients_are_the_derivative_of_forward(kata, device, drawn):
    """Backward fills learned_mean.grad, learned_std.grad and x.grad with the derivative of the formula."""
    cases = build(drawn, device)
    for case in cases:
        case.grad_out = TensorSpec(case.xs.shape, case.x.dtype, seed=case.seed + 3).make(device)
    seen = kata.run(backward, [(c.n, c.eps, c.mean, c.std, c.x, c.grad_out) for c in cases],
                    doing=batch_doing([f"backward through {c.words}" for c in cases]), why=cases[0].why)
    for case, grads in judged(cases, seen, lambda c: f"backward through {c.words}", lambda c: c.why):
        loaded(grads, case.n)
        expected = reference_gradients(case.x, case.mean, case.std, case.eps, case.grad_out)
        terms = max(1, case.x.numel() // case.n)
        for name, value in expected.items():
            got = grads[name]
            if got is None:
                if name == "x":
                    fail(f"x.grad is None after backward on {case.words}: gradients must flow back through the "
                         "normalisation to x (do not detach x), or the layers before this one never learn.")
                fail(f"{name}.grad is None after backward on {case.words} (registered parameters: "
                     f"{grads['registered']}): no gradient reaches {name}, so an optimizer never moves it. "
                     f"{NOT_LEARNED}")
            assert_close(got.double(), value, f"the gradient of {name} for {case.words}",
                         why="backward must compute the derivative of (x - learned_mean) / (learned_std + eps).",
                         **tolerance_for(case.x.dtype, case.x, case.mean, case.std, case.eps, terms))


@given(drawn=cases_of(st.tuples(sizes(1, 9), EPS, SEEDS, st.sampled_from([torch.float32, torch.float64])), 8))
@examples(2)
def test_state_dict_round_trips_through_load_state_dict(kata, device, drawn):
    """load_state_dict sets the values forward uses, and state_dict() gives them back unchanged."""
    cases = [Case((n, eps, TensorSpec((4, n), dtype, seed=seed + 4), seed), device) for n, eps, seed, dtype in drawn]
    for case, seen in run_forward(kata, cases, lambda c: f"load_state_dict then forward on {c.words}"):
        assert_keys(seen["state"], ["learned_mean", "learned_std"], "state_dict() keys", why=NAMES)
        for name, value in (("learned_mean", case.mean), ("learned_std", case.std)):
            assert_close(seen["state"][name], value, f"{name} in state_dict() after load_state_dict", rtol=0,
                         atol=0, why=NAMES)
        check_output(seen["out"], case.x, case.mean, case.std, case.eps, device,
                     f"{case.words} after load_state_dict (eps={case.eps})",
                     why=f"forward must use the loaded values. {FORMULA}")


def _fitted(x, steps, lr):
    """The judge's own run of the same gradient descent from zeros and ones, its gradient worked out by hand:
    d/dm = mean(-(x - m) / (s + eps)^2), d/ds = mean(-(x - m)^2 / (s + eps)^3) + 1 / (s + eps)."""
    n = x.shape[-1]
    m = torch.zeros(n, dtype=torch.float64, device=x.device)
    s = torch.ones(n, dtype=torch.float64, device=x.device)
    for _ in range(steps):
        centred, denominator = x - m, s + 1e-5
        grad_m = -(centred.mean(0)) / denominator**2
        grad_s = -(centred.pow(2).mean(0)) / denominator**3 + 1 / denominator
        m, s = m - lr * grad_m, s - lr * grad_s
    return {"learned_mean": m, "learned_std": s}


@given(drawn=cases_of(st.tuples(sizes(1, 4), SEEDS), 3))
@examples(2)
def test_gradient_descent_fits_the_data_statistics(kata, device, drawn):
    """Fifty SGD steps on the Gaussian negative log-likelihood pull both parameters toward the data's statistics."""
    data = []
    for n, seed in drawn:
        generator = torch.Generator().manual_seed(seed)
        data_mean = torch.randn(n, generator=generator, dtype=torch.float64) * 2
        data_std = 0.5 + 2.5 * torch.rand(n, generator=generator, dtype=torch.float64)
        data.append((torch.randn(256, n, generator=generator, dtype=torch.float64) * data_std + data_mean).to(device))
    doing = f"{FIT_STEPS} SGD steps on a float64 LearnedNorm"
    seen = kata.run(fit, [(x.shape[1], x, FIT_STEPS, FIT_LR) for x in data], doing=doing, why=NOT_LEARNED)
    for x, run in judged(data, seen, lambda x: f"{doing}({x.shape[1]})", lambda x: NOT_LEARNED):
        if run["count"] == 0:
            fail(EMPTY_PARAMETERS)
        target = {"learned_mean": x.mean(0), "learned_std": x.std(0, unbiased=False)}
        expected = _fitted(x, FIT_STEPS, FIT_LR)
        assert_keys(run["end"], target.keys(), "state_dict() keys", why=NAMES)
        stats = {k: [round(v, 3) for v in t.tolist()] for k, t in target.items()}
        fitting = f"fitting data with mean {stats['learned_mean']} and std {stats['learned_std']}"
        for name, wanted in target.items():
            start, end = run["start"][name].double(), run["end"][name].double()
            if end.shape != wanted.shape:
                fail(f"{name} has shape {tuple(end.shape)}, expected {tuple(wanted.shape)}. {PER_FEATURE}")
            before, after = (start - wanted).abs(), (end - wanted).abs()
            if bool((after >= before).any()):
                i = int((after - before).argmax())
                fail(f"after {FIT_STEPS} SGD steps {fitting}, {name}[{i}] went from {float(start[i]):.4g} to "
                     f"{float(end[i]):.4g} instead of toward {float(wanted[i]):.4g}: the parameters do not learn. "
                     f"Gradients must reach both parameters (nothing detached), and forward must compute "
                     f"{FORMULA[9:]}")
            assert_close(end, expected[name], f"{name} after {FIT_STEPS} SGD steps {fitting}", rtol=1e-6, atol=1e-8,
                         why=f"Each step must follow the gradient of {FORMULA[9:]}")
