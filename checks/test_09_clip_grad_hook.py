"""Kata 09: clipping gradients with a full backward hook and with tensor hooks.

Every spec is judged outside the learner's process: a @probe builds the model from a plain description
and the weights the spec sends (a Linear, a generated stack of layers with tied and frozen parameters, a
module with a non-tensor input), registers the learner's hooks, runs backward with the spec's grad_out
and returns the gradients it finds; the spec builds the same model with its own torch, registers its own
small reference clip (written below) and decides.

Contract clauses, and the specs that enforce them:

C1  max_norm is an int or a float > 0 (math.inf allowed: it clips nothing). 0, a negative value or nan
    raise ValueError, before anything is built or registered (after a rejected call, backward gives the
    plain gradients).
    -> clip_gradient_hook_rejects_zero_negative_and_nan,
       clip_parameter_gradients_rejects_a_bad_max_norm_and_registers_nothing
C2  hook(module, grad_input, grad_output) returns a tuple (or list) with one entry per grad_input entry;
    None entries stay None, in their place.   -> hook_returns_one_entry_per_grad_input_entry
C3  A grad_input tensor whose 2-norm (over the whole tensor, any shape incl. 1-D, any layout, float16,
    bfloat16, float32, float64) exceeds max_norm comes back as g * (max_norm / ||g||): same shape and
    dtype, same direction (rescaled, never clamped element-wise); dividing by ||g|| + eps, eps <= 1e-6 (as
    Tensor.renorm and clip_grad_norm_ do), is accepted.
    -> hook_rescales_a_long_gradient_to_norm_max_norm, hook_keeps_the_gradient_direction
C4  A tensor whose norm is at most max_norm (exactly at it, zero, any with a huge or infinite max_norm)
    comes back unchanged: clipping never scales up, and a zero gradient stays zero (not nan).
    -> hook_leaves_gradients_within_max_norm_untouched
C5  Each grad_input tensor is clipped on its own (no shared norm budget); grad_input, not grad_output, is
    clipped and returned.   -> hook_clips_each_input_gradient_on_its_own, hook_clips_grad_input_not_grad_output
C6  The hook never modifies grad_input or grad_output in place.   -> hook_does_not_modify_its_arguments
C7  Registered with module.register_full_backward_hook, the hook clips the gradient flowing to earlier
    layers and to the module's inputs (1-D inputs, extra leading dimensions, every float dtype), works
    when some inputs are not tensors or need no gradient, and leaves the module's own weight gradient
    exactly as it was (it is not in grad_input).
    -> registered_hook_clips_the_gradient_flowing_to_earlier_layers,
       registered_hook_leaves_the_layers_own_weight_gradient_alone, registered_hook_handles_inputs_without_gradient
C8  clip_parameter_gradients(module, max_norm) hooks every distinct parameter that requires grad
    (submodules, parameters of custom modules, a tied parameter once) and returns a list of one removable
    handle per such parameter; frozen parameters get no hook and no gradient.
    -> clip_parameter_gradients_returns_one_handle_per_trainable_parameter, frozen_parameters_are_skipped
C9  From then on every backward pass clips each parameter's gradient on its own (the weight gradient
    too; a tied parameter on its summed gradient) to norm max_norm, before it is accumulated into .grad;
    gradients within max_norm are untouched; every float dtype.
    -> every_parameter_gradient_is_clipped_including_the_weight,
       parameter_gradients_within_max_norm_are_untouched, parameter_gradients_are_clipped_on_their_own,
       parameter_hooks_clip_every_future_backward_pass,
       parameter_hooks_clip_each_pass_before_accumulation
C10 The parameter hooks return a new tensor (or the gradient itself when it is within max_norm): the gradient
    they receive is never modified in place.
    -> parameter_hooks_do_not_modify_the_gradient_in_place
C11 Removing every handle, in any order, restores plain gradients; removing some leaves the others
    clipping.   -> removing_every_handle_in_any_order_restores_plain_gradients,
                   removing_some_handles_leaves_the_others_clipping
C12 Calling clip_parameter_gradients twice registers both: each call's hooks run (the gradient ends
    clipped to the smaller max_norm) and removing one call's handles leaves the other call's clipping.
    -> calling_clip_parameter_gradients_twice_stacks_both_clips
"""

from __future__ import annotations

import math
import random

import torch
from torch import nn

from kata_runner.asserts import assert_close, each, fail
from kata_runner.draw import FLOAT_DTYPES, LAYOUTS, TensorSpec, batches, examples, given, sizes, st
from kata_runner.probing import outcome, probe

RESCALE = "Rescale the whole tensor, g * (max_norm / g.norm()), when its norm exceeds max_norm."
INPUTS = (
    "A full backward hook's return value replaces grad_input, the gradient with respect to the module's inputs "
    "(what flows back to earlier layers)."
)
UNTOUCHED = "Gradients within max_norm must be left untouched: clipping only shrinks gradients that are too long."
OWN = "Each parameter is clipped on its own: do not split the budget between parameters or clip their global norm."
VALIDATE = "validate max_norm first: it must be a number > 0 (0, negative values and nan raise ValueError)."
BAD_MAX_NORMS = (0, 0.0, -1, -0.5, -math.inf, math.nan)
HALF = (torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------------------------ models
# Built from a plain description, the same way in the subject (by the probes) and in the judge.


class Gain(nn.Module):
    """A custom module with its own Parameter: x * gain."""

    def __init__(self, width, dtype, device):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(width, dtype=dtype, device=device))

    def forward(self, x):
        return x * self.gain


class ScaleAdd(nn.Module):
    """forward(x, scale, y) = x * scale + y: `scale` is a float, so grad_input[1] is None."""

    def forward(self, x, scale, y):
        return x * scale + y


def build_stack(desc, dtype, device):
    """desc = {"d_in": n, "layers": [...]}; a layer is ["linear", out, bias, tie, frozen, nested],
    ["tanh"] or ["gain", frozen, nested]. `tie` is the index of an earlier linear whose weight is shared."""
    width, modules, frozen = desc["d_in"], [], []
    for layer in desc["layers"]:
        kind = layer[0]
        if kind == "linear":
            _, out, bias, tie, freeze, nested = layer
            module = nn.Linear(width, out, bias=bias, dtype=dtype, device=device)
            if tie is not None:
                source = modules[tie]
                module.weight = (source[0] if isinstance(source, nn.Sequential) else source).weight
            width = out
        elif kind == "gain":
            _, freeze, nested = layer
            module = Gain(width, dtype, device)
        else:
            module, freeze, nested = nn.Tanh(), [], False
        frozen += [getattr(module, name) for name in freeze]
        modules.append(nn.Sequential(module) if nested else module)
    model = nn.Sequential(*modules)
    for param in frozen:
        param.requires_grad_(False)
    return model


def load(model, state):
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(state[name])


def grads_of(model):
    return {name: None if p.grad is None else p.grad.detach().clone() for name, p in model.named_parameters()}


def backward_with(out, grad_out):
    """out.backward(grad_out), the same gradients, without the 1 s of sympy import that a first
    backward(gradient) costs."""
    (out * grad_out).sum().backward()


def two_layers(weights, dtype, device):
    (w1, b1), (w2, b2) = weights
    first = nn.Linear(w1.shape[1], w1.shape[0], dtype=dtype, device=device)
    second = nn.Linear(w2.shape[1], w2.shape[0], dtype=dtype, device=device)
    with torch.no_grad():
        for layer, (w, b) in ((first, (w1, b1)), (second, (w2, b2))):
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    return first, second


def run_two_layers(first, second, x, grad_out):
    x = x.detach().clone().requires_grad_(True)
    h = first(x)
    h.retain_grad()
    backward_with(second(h), grad_out)
    return {"x": x.grad, "h": h.grad, "first.weight": first.weight.grad, "first.bias": first.bias.grad,
            "second.weight": second.weight.grad, "second.bias": second.bias.grad}


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
def make_hook(impl, max_norms):
    """What clip_gradient_hook(max_norm) raised, for each max_norm."""
    return [{"raised": outcome(impl.clip_gradient_hook, max_norm)["raised"]} for max_norm in max_norms]


@probe
def call_hook(impl, cases):
    """Call the hook directly, as autograd does, for each (max_norm, grad_input, grad_output); report what it
    returned and the arguments afterwards."""
    return observe_each(cases, lambda case: _call_hook(impl, *case))


def _call_hook(impl, max_norm, grad_input, grad_output):
    hook = impl.clip_gradient_hook(max_norm)
    grad_input, grad_output = tuple(grad_input), tuple(grad_output)
    out = hook(ScaleAdd(), grad_input, grad_output)
    return {"out": out, "grad_input_after": list(grad_input), "grad_output_after": list(grad_output)}


@probe
def hooked_two_layers(impl, cases):
    """Backward through Linear -> Linear, the second hooked, for each (weights, x, grad_out, max_norm)."""
    return observe_each(cases, lambda case: _hooked_two_layers(impl, *case))


def _hooked_two_layers(impl, weights, x, grad_out, max_norm):
    first, second = two_layers(weights, x.dtype, x.device)
    second.register_full_backward_hook(impl.clip_gradient_hook(max_norm))
    return run_two_layers(first, second, x, grad_out)


@probe
def hooked_scale_add(impl, cases):
    """Backward through a hooked module(x, scale, y), for each (x, scale, y, grad_out, max_norm)."""
    return observe_each(cases, lambda case: _hooked_scale_add(impl, *case))


def _hooked_scale_add(impl, x, scale, y, grad_out, max_norm):
    module = ScaleAdd()
    module.register_full_backward_hook(impl.clip_gradient_hook(max_norm))
    x = x.detach().clone().requires_grad_(True)
    backward_with(module(x, scale, y), grad_out)
    return {"x": x.grad, "y": y.grad if y.requires_grad else None}


@probe
def parameter_run(impl, cases):
    """For each case {desc, state, x, grad_out, calls, removal, passes, accumulate, spy}: see _parameter_run."""
    return observe_each(cases, lambda case: _parameter_run(impl, **case))


def _parameter_run(impl, desc, state, x, grad_out, calls, removal=(), passes=1, accumulate=False, spy=False):
    """clip_parameter_gradients(model, m) for each m in calls; then remove handles[call][i] for each
    (call, i) in removal; then `passes` backward passes. Reports the handle counts and the gradients."""
    model = build_stack(desc, x.dtype, x.device)
    load(model, state)
    received = []
    if spy:  # registered first, so it sees the gradient the learner's hook receives
        for p in model.parameters():
            if p.requires_grad:
                p.register_hook(lambda g, store=received: store.append((g, g.clone())))
    handles = [impl.clip_parameter_gradients(model, m) for m in calls]
    counts = [len(h) if isinstance(h, (list, tuple)) else None for h in handles]
    for call, index in removal:
        if counts[call] is not None and index < counts[call]:
            handles[call][index].remove()
    passes_seen = []
    for _ in range(passes):
        backward_with(model(x), grad_out)
        passes_seen.append(grads_of(model))
        if not accumulate:
            model.zero_grad(set_to_none=True)
    changed = [not torch.equal(g, copy) for g, copy in received]
    return {"counts": counts, "types": [type(h).__name__ for h in handles], "passes": passes_seen,
            "changed_in_place": changed}


@probe
def parameter_rejected(impl, cases):
    """clip_parameter_gradients(model, max_norm), then backward, for each (desc, state, x, grad_out, max_norm)."""
    return observe_each(cases, lambda case: _parameter_rejected(impl, *case))


def _parameter_rejected(impl, desc, state, x, grad_out, max_norm):
    model = build_stack(desc, x.dtype, x.device)
    load(model, state)
    result = outcome(impl.clip_parameter_gradients, model, max_norm)
    backward_with(model(x), grad_out)
    return {"raised": result["raised"], "grads": grads_of(model)}


# ------------------------------------------------------------------------------------------ judge side


def reference_clip(grad, max_norm):
    """The expected result: grad rescaled to norm max_norm when its norm exceeds it, else grad itself."""
    norm = float(torch.linalg.vector_norm(grad.double()))
    if norm > max_norm:
        return (grad.double() * (max_norm / norm)).to(grad.dtype)
    return grad


def norm_of(grad):
    return float(torch.linalg.vector_norm(grad.double()))


def with_norm(grad, norm):
    """grad rescaled (in float64) to the given norm, in its own dtype and layout."""
    current = norm_of(grad)
    if current == 0:
        grad = torch.ones_like(grad)
        current = norm_of(grad)
    return (grad.double() * (norm / current)).to(grad.dtype)


# Tensor.renorm and clip_grad_norm_ divide by norm + 1e-7 or + 1e-6: such an epsilon is allowed, so a clipped
# gradient of plain norm n may be off by up to EPSILON / n (relative).
EPSILON = 2e-6


def tolerance(dtype, expected, norm=None):
    """rtol/atol for a gradient in `dtype`; `norm`: the plain norm of a gradient that was clipped."""
    scale = float(expected.double().abs().max()) if expected.numel() else 1.0
    slack = EPSILON / norm if norm else 0.0
    if dtype == torch.float64:
        return {"rtol": 1e-9 + slack, "atol": (1e-12 + slack) * max(scale, 1e-30)}
    eps = torch.finfo(dtype).eps
    return {"rtol": 16 * eps + slack, "atol": (16 * eps + slack) * scale}


def check_grad(got, expected, what, why, norm=None):
    if got is None:
        fail(f"{what} is None: the gradient never arrived. {why}")
    assert_close(got, expected, what, why=why, **tolerance(expected.dtype, expected, norm))


def check_raised(raised, call):
    if raised is None:
        fail(f"{call} returned without raising ValueError: {VALIDATE}")
    if "ValueError" not in raised["types"]:
        fail(f"{call} raised {raised['type']}: {raised['message']}; expected ValueError: {VALIDATE}")


def spell(max_norm):
    return repr(max_norm) if isinstance(max_norm, int) else f"{max_norm:.4g}"


def called(function, *max_norms):
    """`clip_gradient_hook(2) (an int max_norm)`: the call, saying when max_norm is an int."""
    calls = " and ".join(f"{function}({spell(m)})" for m in max_norms)
    return calls + (" (an int max_norm)" if any(isinstance(m, int) for m in max_norms) else "")




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


class HookCall:
    """One direct call of the hook: max_norm, grad_input, grad_output and the case in words."""

    def __init__(self, max_norm, grad_input, grad_output, words):
        self.max_norm, self.grad_input, self.grad_output, self.words = max_norm, grad_input, grad_output, words


def hook_results(kata, calls):
    """[(call, what the subject saw)] for a batch of direct hook calls, after checking that each hook returned a
    tuple/list with one entry per grad_input entry."""
    sent = [(call.max_norm, list(call.grad_input), list(call.grad_output)) for call in calls]
    doings = [f"calling the hook from {called('clip_gradient_hook', call.max_norm)} on {call.words}" for call in calls]
    pairs = run_each(kata, call_hook, calls, sent, doings, INPUTS)
    for call, seen in pairs:
        check_hook_result(seen["out"], call)
    return pairs


def check_hook_result(out, call):
    on = f"(on {call.words}, max_norm={spell(call.max_norm)})"
    if out is None:
        fail(f"the hook returned None {on}, which tells autograd to keep grad_input as it was: nothing gets clipped. "
             "Return the new grad_input tuple.")
    if not isinstance(out, (tuple, list)):
        fail(f"the hook returned {out!r} {on}; return a tuple, one entry per grad_input entry.")
    if len(out) != len(call.grad_input):
        fail(f"the hook returned {len(out)} entries for a grad_input of {len(call.grad_input)} entries {on}: keep "
             "None entries in place. grad_input[i] belongs to input i; autograd matches them by position.")
    for i, (new, old) in enumerate(zip(out, call.grad_input)):
        if old is None and new is not None:
            fail(f"grad_input[{i}] was None but the hook returned a {type(new).__name__} there {on}: keep None "
                 "entries in place.")
        if old is not None and not isinstance(new, torch.Tensor):
            fail(f"grad_input[{i}] was a tensor but the hook returned {new!r} there {on}: keep None entries in "
                 "place, and return a tensor for every tensor.")
        if old is not None and new.dtype != old.dtype:
            fail(f"the hook returned grad_input[{i}] in dtype {new.dtype} for a {old.dtype} gradient {on}: keep the "
                 "gradient's dtype (autograd needs it).")


# ------------------------------------------------------------------------------------------ inputs
# Constant strategies are built once, here: a strategy built inside a composite costs its validation on
# every draw.

BOOLS = st.booleans()
SEEDS = st.integers(0, 2**16)
LEADING_UP_TO_2 = st.lists(sizes(1, 5), max_size=2)
LEADING_1_TO_2 = st.lists(sizes(1, 5), min_size=1, max_size=2)
LAYOUT_CHOICES = {}  # filled by _layouts(), one strategy per set of layouts
GRAD_SCALES = {True: st.sampled_from([1.0, 3.0]), False: st.sampled_from([0.01, 1.0, 10.0, 1000.0])}
STACK_SCALES = {True: st.just(1.0), False: st.sampled_from([1.0, 10.0])}
LAYER_COUNTS = st.integers(1, 4)
LAYER_KINDS = st.sampled_from(["linear", "linear", "tanh", "gain"])
STACK_SIZES = sizes(1, 4)
INDICES = st.integers(0, 255)
FREEZES = {True: st.lists(st.sampled_from(["weight", "bias"]), unique=True, max_size=2),
           False: st.lists(st.sampled_from(["weight"]), unique=True, max_size=2)}


def _layouts(shape):
    """A strategy for the layouts draw.tensors allows for this shape."""
    fits = {"contiguous": True, "transposed": len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1,
            "sliced": len(shape) >= 1 and shape[-1] > 0, "expanded": len(shape) >= 2 and shape[0] > 1}
    allowed = tuple(layout for layout in LAYOUTS if fits[layout])
    if allowed not in LAYOUT_CHOICES:
        LAYOUT_CHOICES[allowed] = st.sampled_from(allowed)
    return LAYOUT_CHOICES[allowed]


def tensor_spec(draw, leading, trailing, dtype, scale=1.0):
    """What draw.tensors(trailing, dtypes=(dtype,)) draws, from strategies built once (`leading` draws the leading
    sizes)."""
    shape = (*draw(leading), *trailing)
    return TensorSpec(shape, dtype, draw(_layouts(shape)), draw(SEEDS), scale)


def gradients(dtypes=FLOAT_DTYPES, min_dims=1, min_width=1):
    """Draws a gradient tensor spec: 1-D or with leading dimensions, any layout, any float dtype."""
    widths, dtype_choices = sizes(min_width, 6), st.sampled_from(dtypes)
    leading = LEADING_UP_TO_2 if min_dims == 1 else LEADING_1_TO_2

    @st.composite
    def gradient(draw):
        width, dtype = draw(widths), draw(dtype_choices)
        spec = tensor_spec(draw, leading, (width,), dtype)
        return TensorSpec(spec.shape, dtype, spec.layout, spec.seed, draw(GRAD_SCALES[dtype in HALF]))

    return gradient()


def stacks(dtypes=(torch.float32, torch.float64), frozen=True, tied=True):
    """Draws a generated stack: Linear (with or without bias, tied, nested in a Sequential), Tanh, Gain.
    frozen / tied: True (drawn), False (none) or "always" (at least one frozen parameter / tied weight)."""
    dtype_choices = st.sampled_from(dtypes)

    @st.composite
    def stack(draw):
        d_in = draw(STACK_SIZES)
        width, layers, linears = d_in, [], []  # linears: (index, in, out)
        for _ in range(draw(LAYER_COUNTS)):
            kind = draw(LAYER_KINDS)
            if kind == "linear":
                ties = [(i, o) for i, n_in, o in linears if n_in == width]
                tie, out = None, draw(STACK_SIZES)
                if tied and ties and draw(BOOLS):
                    tie, out = ties[draw(INDICES) % len(ties)]
                bias = draw(BOOLS)
                freeze = draw(FREEZES[bias]) if frozen else []
                layers.append(["linear", out, bias, tie, freeze, draw(BOOLS)])
                linears.append((len(layers) - 1, width, out))
                width = out
            elif kind == "gain":
                layers.append(["gain", ["gain"] if frozen and draw(BOOLS) else [], draw(BOOLS)])
            else:
                layers.append(["tanh"])
        if tied == "always" and not any(layer[0] == "linear" and layer[3] is not None for layer in layers):
            layers.append(["linear", width, draw(BOOLS), None, [], False])
            layers.append(["linear", width, draw(BOOLS), len(layers) - 1, [], draw(BOOLS)])
        if frozen == "always" and not any(layer[0] != "tanh" and layer[-2] for layer in layers):
            layers.append(["gain", ["gain"], draw(BOOLS)])
        # The last layer is a trainable linear with a bias: every stack has at least two parameters to clip.
        layers.append(["linear", draw(STACK_SIZES), True, None, [], False])
        dtype = draw(dtype_choices)
        xs = tensor_spec(draw, LEADING_UP_TO_2, (d_in,), dtype)
        return {"d_in": d_in, "layers": layers}, xs, draw(SEEDS), draw(STACK_SCALES[dtype in HALF])

    return stack()


class Case:
    """The judge's own copy of a drawn stack, with its weights, input and grad_out."""

    def __init__(self, drawn, device):
        self.desc, self.xs, seed, scale = drawn
        self.device = device
        self.x = self.xs.make(device)
        self.dtype = self.x.dtype
        generator = torch.Generator().manual_seed(seed)
        model, _ = self.model()
        self.state = {name: (torch.randn(p.shape, generator=generator, dtype=torch.float64)).to(self.dtype)
                      for name, p in model.named_parameters()}
        d_out = self.desc["layers"][-1][1]
        self.grad_out = TensorSpec((*self.xs.shape[:-1], d_out), self.dtype, seed=seed + 1, scale=scale).make(device)
        self.trainable = [name for name, p in model.named_parameters() if p.requires_grad]
        self.plain = self.grads()

    def model(self, calls=()):
        """The judge's model, with reference hooks registered for each max_norm in calls."""
        model = build_stack(self.desc, self.dtype, self.device)
        if hasattr(self, "state"):
            load(model, self.state)
        handles = [[p.register_hook(lambda g, m=max_norm: reference_clip(g, m))
                    for p in model.parameters() if p.requires_grad] for max_norm in calls]
        return model, handles

    def grads(self, calls=(), passes=1, accumulate=False, remove=()):
        model, handles = self.model(calls)
        for call in remove:
            for handle in handles[call]:
                handle.remove()
        seen = []
        for _ in range(passes):
            backward_with(model(self.x), self.grad_out)
            seen.append(grads_of(model))
            if not accumulate:
                model.zero_grad(set_to_none=True)
        return seen if passes > 1 else seen[0]

    def words(self):
        layers = self.desc["layers"]
        tied = sum(1 for layer in layers if layer[0] == "linear" and layer[3] is not None)
        frozen = sum(len(layer[4]) for layer in layers if layer[0] == "linear") + sum(
            len(layer[1]) for layer in layers if layer[0] == "gain")
        extras = [f"{tied} tied weight(s)" if tied else "", f"{frozen} frozen parameter(s)" if frozen else ""]
        extra = ", ".join(e for e in extras if e)
        return (f"a stack of {len(layers)} layers{f' with {extra}' if extra else ''} on "
                f"{self.xs.describe()}")

    def sent(self, calls, **options):
        """What parameter_run gets for this case: clip_parameter_gradients(model, m) for each m in `calls`."""
        return {"desc": self.desc, "state": self.state, "x": self.x, "grad_out": self.grad_out, "calls": list(calls),
                **options}

    def doing(self, calls):
        return f"{called('clip_parameter_gradients', *calls)} on {self.words()}, then backward"

    def norms(self):
        return {name: norm_of(self.plain[name]) for name in self.trainable}


def run_parameters(kata, cases, calls, why="", **options):
    """[(case, what the subject saw)]: clip_parameter_gradients with calls[i] (a list of max_norms) on cases[i], then
    backward; `options` (removal, passes, accumulate, spy) are the same for every case, or lists of one per case."""
    sent = [case.sent(calls[i], **{k: v[i] if isinstance(v, list) else v for k, v in options.items()})
            for i, case in enumerate(cases)]
    return run_each(kata, parameter_run, cases, sent, [case.doing(c) for case, c in zip(cases, calls)], why)


def choose_max_norm(norms, mode, as_int, fraction):
    """A max_norm placed relative to the plain gradient norms."""
    values = sorted(v for v in norms.values() if v > 0) or [1.0]
    if mode == "below_all":
        value = values[0] * fraction
    elif mode == "between" and len(values) >= 2:
        value = math.sqrt(values[0] * values[-1])
    elif mode == "at":
        value = values[len(values) // 2]
    elif mode == "huge":
        value = 1e30
    elif mode == "inf":
        value = math.inf
    else:
        value = values[-1] * (1 + fraction)
    if as_int and 1 <= value < 2**31:
        return math.ceil(value) if mode == "above_all" else int(value)
    return value


def check_stack(got, expected, case, when, why, floor=math.inf):
    if sorted(got) != sorted(expected):
        fail(f"{when}: the model's parameters changed: expected {sorted(expected)}, found {sorted(got)}.")
    for name, value in expected.items():
        if value is None:
            if got[name] is not None:
                fail(f"{when}: the frozen parameter {name} received a gradient on {case.words()}: skip frozen "
                     "parameters.")
            continue
        plain = norm_of(case.plain[name])
        check_grad(got[name], value, f"{name}.grad {when} (plain norm {plain:.4g}) on {case.words()}", why,
                   min(plain, floor))


# ------------------------------------------------------------------------------------------ specs: the hook
# Each spec draws a batch of cases (`batches`) and judges them with one round trip; every message names the
# case that failed (the gradient or model in words, max_norm).


def test_clip_gradient_hook_rejects_zero_negative_and_nan(kata, device):
    """clip_gradient_hook(max_norm) raises ValueError when max_norm is 0, negative or nan (each one is tried)."""
    seen = kata.run(make_hook, list(BAD_MAX_NORMS), doing="clip_gradient_hook(max_norm) for max_norm in "
                    f"{list(BAD_MAX_NORMS)}")
    for max_norm, result in each(BAD_MAX_NORMS, seen):
        check_raised(result["raised"], f"clip_gradient_hook({max_norm!r})")


@given(drawn=batches(st.tuples(st.lists(BOOLS, min_size=1, max_size=4), gradients(), st.sampled_from([1, 0.5]))))
@examples(3)
def test_hook_returns_one_entry_per_grad_input_entry(kata, device, drawn):
    """The hook returns one entry per grad_input entry, None entries kept as None in their place."""
    calls = []
    for entries, grad, max_norm in drawn:
        grad_input = [TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed + i, grad.scale).make(device)
                      if present else None for i, present in enumerate(entries)]
        words = (f"a grad_input of {len(entries)} entries: {sum(entries)} tensor(s), each {grad.describe('tensor')}, "
                 f"and {len(entries) - sum(entries)} None")
        calls.append(HookCall(max_norm, grad_input, [grad.make(device)], words))
    hook_results(kata, calls)


@given(drawn=batches(st.tuples(gradients(), st.sampled_from([0.5, 0.1, 1e-3, 1e-6]), BOOLS, st.integers(1, 3))))
@examples(3)
def test_hook_rescales_a_long_gradient_to_norm_max_norm(kata, device, drawn):
    """A grad_input tensor whose norm exceeds max_norm comes back as g * (max_norm / ||g||)."""
    calls = []
    for grad, factor, as_int, whole in drawn:
        g = grad.make(device)
        factor = max(factor, 0.1) if g.dtype in HALF else factor
        if as_int:  # an int max_norm: the gradient is made 1/factor times longer than it
            max_norm = whole
            g = with_norm(g, whole / factor)
        else:
            g = with_norm(g, norm_of(g)) if norm_of(g) == 0 else g
            max_norm = norm_of(g) * factor
        calls.append(HookCall(max_norm, [g], [g.clone()], grad.describe("gradient")))
    for call, seen in hook_results(kata, calls):
        (g,) = call.grad_input
        what = f"the hook's result for {call.words} of norm {norm_of(g):.4g} with max_norm={spell(call.max_norm)}"
        expected = reference_clip(g, call.max_norm)
        assert_close(seen["out"][0], expected, what,
                     why=f"It must be rescaled to norm max_norm over the whole tensor. {RESCALE}",
                     **tolerance(g.dtype, expected, norm_of(g)))


@given(drawn=batches(st.tuples(gradients(min_width=2), st.sampled_from([0.3, 0.05]))))
@examples(3)
def test_hook_keeps_the_gradient_direction(kata, device, drawn):
    """Clipping rescales the gradient: the result points in exactly the same direction."""
    calls = []
    for grad, factor in drawn:
        g = grad.make(device)
        max_norm = float(g.double().abs().max()) * factor or 1.0
        calls.append(HookCall(max_norm, [g], [g.clone()], grad.describe("gradient")))
    for call, seen in hook_results(kata, calls):
        (g,) = call.grad_input
        out = seen["out"][0].double()
        cosine = float((out * g.double()).sum() / (out.norm() * g.double().norm()))
        if not cosine > 1 - max(16 * torch.finfo(g.dtype).eps ** 2, 1e-12):
            fail(f"the clipped {call.words} points in a different direction (cosine {cosine:.4f} with the original, "
                 f"max_norm={spell(call.max_norm)}): clamping elements changes the direction. {RESCALE}")


@given(drawn=batches(st.tuples(gradients(), st.sampled_from(["at", "above", "huge", "inf", "zero", "int"]))))
@examples(3)
def test_hook_leaves_gradients_within_max_norm_untouched(kata, device, drawn):
    """A tensor of norm at most max_norm (exactly at it, zero, huge or infinite max_norm) comes back unchanged."""
    calls = []
    for grad, mode in drawn:
        g = grad.make(device)
        if mode == "zero":
            g = torch.zeros_like(g)
        norm = norm_of(g)
        max_norm = {"at": norm, "above": 2 * norm, "huge": 1e30, "inf": math.inf, "zero": 1.0,
                    "int": math.ceil(norm) + 1}[mode]
        calls.append(HookCall(max_norm, [g], [g.clone()], grad.describe("gradient")))
    for call, seen in hook_results(kata, calls):
        (g,) = call.grad_input
        norm = norm_of(g)
        what = f"the hook's result for {call.words} of norm {norm:.4g} with max_norm={spell(call.max_norm)}"
        zero = " A zero gradient stays zero: do not divide by its zero norm." if norm == 0 else ""
        assert_close(seen["out"][0], g, what, why=UNTOUCHED + zero, **tolerance(g.dtype, g))


@given(drawn=batches(st.tuples(gradients(), BOOLS)))
@examples(3)
def test_hook_clips_each_input_gradient_on_its_own(kata, device, drawn):
    """Each grad_input tensor is clipped on its own to max_norm; there is no norm budget shared between them."""
    calls = []
    for grad, as_int in drawn:
        max_norm = 2 if as_int else 1.5
        first = with_norm(grad.make(device), 0.8 * max_norm)
        second = with_norm(TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed + 1).make(device), 5 * max_norm)
        calls.append(HookCall(max_norm, [first, None, second], [second],
                              f"two gradients and a None, each gradient {grad.describe('gradient')}"))
    why = ("Each tensor is clipped on its own: any tensor with norm <= max_norm is untouched and every longer one gets "
           "norm max_norm. Splitting the budget or clipping the global norm of all tensors is a different rule.")
    for call, seen in hook_results(kata, calls):
        first, _, second = call.grad_input
        out, max_norm = seen["out"], call.max_norm
        assert_close(out[0], first, f"grad_input[0] (norm {norm_of(first):.3g}, max_norm {max_norm}) of {call.words}",
                     why=why, **tolerance(first.dtype, first))
        expected = reference_clip(second, max_norm)
        assert_close(out[2], expected, f"grad_input[2] (norm {norm_of(second):.3g}, max_norm {max_norm}) of "
                     f"{call.words}", why=why, **tolerance(second.dtype, expected, norm_of(second)))


@given(drawn=batches(gradients()))
@examples(3)
def test_hook_clips_grad_input_not_grad_output(kata, device, drawn):
    """The hook returns grad_input clipped; grad_output is only read, never returned in its place."""
    calls = []
    for grad in drawn:
        grad_input = with_norm(TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed).make(device), 4.0)
        grad_output = with_norm(TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed + 7).make(device), 6.0)
        calls.append(HookCall(0.5, [grad_input], [grad_output], grad.describe("gradient")))
    for call, seen in hook_results(kata, calls):
        (grad_input,) = call.grad_input
        expected = reference_clip(grad_input, call.max_norm)
        assert_close(seen["out"][0], expected, f"the hook's return value for {call.words}",
                     why=f"{INPUTS} Clip grad_input; a full backward hook cannot change grad_output.",
                     **tolerance(expected.dtype, expected, norm_of(grad_input)))


@given(drawn=batches(st.tuples(gradients(), sizes(1, 3))))
@examples(3)
def test_hook_does_not_modify_its_arguments(kata, device, drawn):
    """The tensors passed in as grad_input and grad_output are left as they were."""
    calls = []
    for grad, size in drawn:
        grad_input = [with_norm(TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed + i).make(device), 3.0)
                      for i in range(size)]
        grad_output = [with_norm(TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed + 9).make(device), 3.0)]
        calls.append(HookCall(0.5, grad_input, grad_output, grad.describe("gradient")))
    why = "The hook modified its argument in place: backward hooks must not modify their arguments; return new tensors."
    for call, seen in hook_results(kata, calls):
        for i, (after, before) in enumerate(zip(seen["grad_input_after"], call.grad_input)):
            assert_close(after, before, f"grad_input[{i}] ({call.words}) after the hook", rtol=0, atol=0, why=why)
        assert_close(seen["grad_output_after"][0], call.grad_output[0], f"grad_output[0] ({call.words}) after the hook",
                     rtol=0, atol=0, why=why)


# ------------------------------------------------------------------------------------------ specs: registered


FRACTIONS = st.sampled_from([0.5, 0.1, 0.01])
WIDTHS_1_5 = sizes(1, 5)
ALL_DTYPES = st.sampled_from(FLOAT_DTYPES)


@st.composite
def two_layer_cases(draw):
    d_in, hidden, d_out = draw(WIDTHS_1_5), draw(WIDTHS_1_5), draw(STACK_SIZES)
    xs = tensor_spec(draw, LEADING_UP_TO_2, (d_in,), draw(ALL_DTYPES))
    return d_in, hidden, d_out, xs, draw(SEEDS), draw(FRACTIONS), draw(BOOLS)


class TwoLayers:
    """A drawn Linear -> Linear case, built on the spec's device, with the judge's plain and clipped gradients."""

    def __init__(self, drawn, device):
        d_in, hidden, d_out, xs, seed, fraction, as_int = drawn
        self.x = xs.make(device)
        dtype = self.x.dtype
        scale = 1.0 if dtype in HALF else 10.0
        weights = [[TensorSpec(shape, dtype, seed=seed + i).make(device) for i, shape in enumerate(shapes)]
                   for shapes in (((hidden, d_in), (hidden,)), ((d_out, hidden), (d_out,)))]
        weights[1] = [TensorSpec(w.shape, dtype, seed=seed + 5 + i, scale=scale).make(device)
                      for i, w in enumerate(weights[1])]
        self.weights = weights
        self.grad_out = TensorSpec((*xs.shape[:-1], d_out), dtype, seed=seed + 9, scale=scale).make(device)
        self.plain = run_two_layers(*two_layers(weights, dtype, device), self.x, self.grad_out)
        norm = norm_of(self.plain["h"]) or 1.0
        max_norm = int(norm * fraction) if as_int and norm * fraction >= 1 else norm * fraction
        first, second = two_layers(weights, dtype, device)
        second.register_full_backward_hook(
            lambda m, gi, go: tuple(None if g is None else reference_clip(g, max_norm) for g in gi))
        self.expected = run_two_layers(first, second, self.x, self.grad_out)
        self.max_norm = max_norm
        self.words = f"{xs.describe()} (max_norm={spell(max_norm)})"


def run_two_layer_cases(kata, cases):
    sent = [(case.weights, case.x, case.grad_out, case.max_norm) for case in cases]
    doings = [f"backward through Linear -> Linear hooked with {called('clip_gradient_hook', case.max_norm)} on "
              f"{case.words}" for case in cases]
    return run_each(kata, hooked_two_layers, cases, sent, doings, INPUTS)


@given(drawn=batches(two_layer_cases()))
@examples(3)
def test_registered_hook_clips_the_gradient_flowing_to_earlier_layers(kata, device, drawn):
    """Registered on a layer, the hook clips the gradient reaching its input, the input x and the layer before it."""
    for case, seen in run_two_layer_cases(kata, [TwoLayers(d, device) for d in drawn]):
        for name in ("h", "x", "first.weight", "first.bias"):
            label = "the gradient reaching the hooked layer's input" if name == "h" else f"{name}.grad"
            check_grad(seen[name], case.expected[name], f"{label} on {case.words}",
                       f"{INPUTS} It must arrive clipped to max_norm, so everything before the hook sees the clipped "
                       f"gradient. {RESCALE}", norm_of(case.plain["h"]))


@given(drawn=batches(two_layer_cases()))
@examples(3)
def test_registered_hook_leaves_the_layers_own_weight_gradient_alone(kata, device, drawn):
    """The layer's own weight and bias gradients are not in grad_input: the hook leaves them exactly as they were."""
    for case, seen in run_two_layer_cases(kata, [TwoLayers(d, device) for d in drawn]):
        for name in ("second.weight", "second.bias"):
            check_grad(seen[name], case.plain[name], f"{name}.grad of the hooked layer on {case.words}",
                       "The hook must not touch the layer's own weight gradient: grad_input holds the gradients with "
                       "respect to the inputs only. To clip a parameter's gradient, use clip_parameter_gradients.")


@given(drawn=batches(st.tuples(gradients(dtypes=(torch.float32, torch.float64)), st.sampled_from([2.0, -0.5, 3]),
                               BOOLS, st.sampled_from([1, 0.25]))))
@examples(3)
def test_registered_hook_handles_inputs_without_gradient(kata, device, drawn):
    """With a float input and an input that needs no gradient, grad_input holds None there; the rest is clipped."""
    sent, doings = [], []
    for grad, scale, y_grad, max_norm in drawn:
        x = TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed, 1.0).make(device)
        y = TensorSpec(grad.shape, grad.dtype, grad.layout, grad.seed + 1, 1.0).make(device, requires_grad=y_grad)
        grad_out = TensorSpec(grad.shape, grad.dtype, seed=grad.seed + 2, scale=10.0).make(device)
        sent.append((x, scale, y, grad_out, max_norm))
        doings.append(f"backward through module(x, {scale}, y) hooked with {called('clip_gradient_hook', max_norm)} on "
                      f"{grad.describe()}")
    why = f"grad_input is (dx, None, dy or None): keep None in place and clip each tensor on its own. {RESCALE}"
    for ((grad, _, y_grad, _), (_, scale, _, grad_out, max_norm)), seen in run_each(
            kata, hooked_scale_add, list(zip(drawn, sent)), sent, doings, INPUTS):
        on = f"on {grad.describe()} (max_norm={spell(max_norm)}, y {'requires' if y_grad else 'needs no'} grad)"
        check_grad(seen["x"], reference_clip(grad_out * scale, max_norm), f"x.grad {on}", why,
                   norm_of(grad_out * scale))
        if y_grad:
            check_grad(seen["y"], reference_clip(grad_out, max_norm), f"y.grad {on}", why, norm_of(grad_out))


# ------------------------------------------------------------------------------------------ specs: parameters

STACKS = stacks()
STACKS_NOT_FROZEN = stacks(frozen=False)
FRACTION_HALF_OR_TENTH = st.sampled_from([0.5, 0.1])


@given(drawn=batches(st.tuples(STACKS, st.sampled_from(BAD_MAX_NORMS))))
@examples(3)
def test_clip_parameter_gradients_rejects_a_bad_max_norm_and_registers_nothing(kata, device, drawn):
    """clip_parameter_gradients raises ValueError for 0, negative or nan max_norm, before registering any hook."""
    cases = [Case(d, device) for d, _ in drawn]
    max_norms = [max_norm for _, max_norm in drawn]
    sent = [(case.desc, case.state, case.x, case.grad_out, max_norm) for case, max_norm in zip(cases, max_norms)]
    doings = [f"clip_parameter_gradients(model, {max_norm!r}) on {case.words()}"
              for case, max_norm in zip(cases, max_norms)]
    for (case, seen), max_norm in zip(run_each(kata, parameter_rejected, cases, sent, doings), max_norms):
        check_raised(seen["raised"], f"clip_parameter_gradients(model, {max_norm!r}) on {case.words()}")
        check_stack(seen["grads"], case.plain, case, f"after a rejected call with max_norm={max_norm!r}",
                    "The call raised, yet hooks were left registered: validate max_norm before registering anything.")


@given(drawn=batches(stacks(tied="always")))
@examples(3)
def test_clip_parameter_gradients_returns_one_handle_per_trainable_parameter(kata, device, drawn):
    """It returns a list of one handle per distinct parameter that requires grad (a tied one counts once)."""
    cases = [Case(d, device) for d in drawn]
    for case, seen in run_parameters(kata, cases, [[1.0]] * len(cases)):
        count = len(case.trainable)
        if seen["counts"][0] is None:
            fail(f"clip_parameter_gradients returned a {seen['types'][0]} for {case.words()}; expected a list of "
                 f"{count} handles, one per trainable parameter (p.register_hook(fn) returns the handle).")
        if seen["counts"][0] != count:
            fail(f"clip_parameter_gradients returned {seen['counts'][0]} handles for {case.words()}, which has "
                 f"{count} distinct trainable parameters: register one hook per parameter, once (module.parameters() "
                 "yields a tied parameter once and includes submodules; skip frozen ones).")


@given(drawn=batches(st.tuples(stacks(dtypes=FLOAT_DTYPES), st.sampled_from(["below_all", "between", "at"]), BOOLS,
                               FRACTION_HALF_OR_TENTH)))
@examples(3)
def test_every_parameter_gradient_is_clipped_including_the_weight(kata, device, drawn):
    """After registration, every parameter's gradient, the weight's too, is clipped to norm max_norm on backward."""
    cases = [Case(d, device) for d, _, _, _ in drawn]
    max_norms = [choose_max_norm(case.norms(), mode, as_int, fraction)
                 for case, (_, mode, as_int, fraction) in zip(cases, drawn)]
    for (case, seen), max_norm in zip(run_parameters(kata, cases, [[m] for m in max_norms]), max_norms):
        check_stack(seen["passes"][0], case.grads([max_norm]), case, f"with max_norm={spell(max_norm)}",
                    f"Every trainable parameter's gradient, the weight gradient included, must be clipped to max_norm, "
                    f"direction kept (the seed's backward hook never clipped it). {RESCALE}")


@given(drawn=batches(st.tuples(stacks(dtypes=FLOAT_DTYPES), st.sampled_from(["above_all", "huge", "inf"]), BOOLS)))
@examples(3)
def test_parameter_gradients_within_max_norm_are_untouched(kata, device, drawn):
    """With a max_norm at least every gradient norm (huge, infinite), the gradients are the plain ones."""
    cases = [Case(d, device) for d, _, _ in drawn]
    max_norms = [choose_max_norm(case.norms(), mode, as_int, 0.5) for case, (_, mode, as_int) in zip(cases, drawn)]
    for (case, seen), max_norm in zip(run_parameters(kata, cases, [[m] for m in max_norms]), max_norms):
        check_stack(seen["passes"][0], case.plain, case, f"with max_norm={spell(max_norm)}", UNTOUCHED)


@given(drawn=batches(st.tuples(STACKS_NOT_FROZEN, BOOLS)))
@examples(3)
def test_parameter_gradients_are_clipped_on_their_own(kata, device, drawn):
    """Each parameter gets the whole max_norm: one within it is untouched even when others are clipped."""
    cases = [Case(d, device) for d, _ in drawn]
    max_norms = [choose_max_norm(case.norms(), "between", as_int, 0.5) for case, (_, as_int) in zip(cases, drawn)]
    for (case, seen), max_norm in zip(run_parameters(kata, cases, [[m] for m in max_norms]), max_norms):
        check_stack(seen["passes"][0], case.grads([max_norm]), case, f"with max_norm={spell(max_norm)}", OWN)


def below_all(drawn, device):
    """The cases of (stack, fraction) pairs, and for each a max_norm below every plain gradient norm."""
    cases = [Case(d, device) for d, _ in drawn]
    return cases, [choose_max_norm(case.norms(), "below_all", False, fraction) for case, (_, fraction) in
                   zip(cases, drawn)]


@given(drawn=batches(st.tuples(stacks(frozen="always"), FRACTION_HALF_OR_TENTH)))
@examples(3)
def test_frozen_parameters_are_skipped(kata, device, drawn):
    """Parameters with requires_grad=False get no hook and no gradient; the others are still clipped."""
    cases, max_norms = below_all(drawn, device)
    why = "Skip frozen parameters (requires_grad=False): they get no gradient, and register_hook refuses them."
    for (case, seen), max_norm in zip(run_parameters(kata, cases, [[m] for m in max_norms], why), max_norms):
        frozen = [name for name, grad in case.plain.items() if grad is None]
        if not frozen:
            fail("internal: the drawn stack has no frozen parameter.")
        check_stack(seen["passes"][0], case.grads([max_norm]), case, f"next to frozen parameters {frozen}",
                    f"Skip frozen parameters and clip the trainable ones. {RESCALE}")


@given(drawn=batches(st.tuples(STACKS_NOT_FROZEN, FRACTION_HALF_OR_TENTH)))
@examples(3)
def test_parameter_hooks_clip_every_future_backward_pass(kata, device, drawn):
    """Registered before any backward, the hooks clip the gradients of each later backward pass."""
    cases, max_norms = below_all(drawn, device)
    for (case, seen), max_norm in zip(run_parameters(kata, cases, [[m] for m in max_norms], passes=2), max_norms):
        expected = case.grads([max_norm], passes=2)
        for step in range(2):
            check_stack(seen["passes"][step], expected[step], case,
                        f"in backward pass {step + 1} with max_norm={spell(max_norm)}",
                        "clip_parameter_gradients must clip every future backward pass: register a tensor hook "
                        "(p.register_hook) instead of clipping the .grad that exists at call time.")


@given(drawn=batches(st.tuples(STACKS_NOT_FROZEN, FRACTION_HALF_OR_TENTH)))
@examples(3)
def test_parameter_hooks_clip_each_pass_before_accumulation(kata, device, drawn):
    """Two backward passes without zero_grad accumulate two clipped gradients (tensor hooks run before .grad)."""
    cases, max_norms = below_all(drawn, device)
    observed = run_parameters(kata, cases, [[m] for m in max_norms], passes=2, accumulate=True)
    for (case, seen), max_norm in zip(observed, max_norms):
        expected = case.grads([max_norm], passes=2, accumulate=True)
        check_stack(seen["passes"][1], expected[1], case,
                    f"after two accumulated passes with max_norm={spell(max_norm)}",
                    "A tensor hook (p.register_hook) clips each pass's gradient before it is accumulated into .grad; "
                    "the sum of two clipped gradients has norm 2 * max_norm here.")


@given(drawn=batches(st.tuples(STACKS_NOT_FROZEN, FRACTION_HALF_OR_TENTH)))
@examples(3)
def test_parameter_hooks_do_not_modify_the_gradient_in_place(kata, device, drawn):
    """The gradient a parameter hook receives is left as it was: the hook returns a new tensor."""
    cases, max_norms = below_all(drawn, device)
    for (case, seen), max_norm in zip(run_parameters(kata, cases, [[m] for m in max_norms], spy=True), max_norms):
        if not seen["changed_in_place"]:
            fail(f"no gradient reached the parameter hooks on {case.words()}: nothing to observe.")
        if any(seen["changed_in_place"]):
            fail(f"a parameter hook modified the gradient it received in place on {case.words()}: hooks must not "
                 "modify their argument; return a new tensor (g * scale), not g.mul_(scale).")
        check_stack(seen["passes"][0], case.grads([max_norm]), case, f"with max_norm={spell(max_norm)}", RESCALE)


@given(drawn=batches(st.tuples(STACKS, st.sampled_from(["forward", "reversed", "shuffled"]), st.integers(0, 99))))
@examples(3)
def test_removing_every_handle_in_any_order_restores_plain_gradients(kata, device, drawn):
    """After handle.remove() on every returned handle, in any order, backward gives the plain gradients."""
    cases = [Case(d, device) for d, _, _ in drawn]
    removals = []
    for case, (_, order, seed) in zip(cases, drawn):
        indices = list(range(len(case.trainable)))
        if order == "reversed":
            indices.reverse()
        elif order == "shuffled":
            random.Random(seed).shuffle(indices)
        removals.append([(0, i) for i in indices])
    max_norms = [choose_max_norm(case.norms(), "below_all", False, 0.5) for case in cases]
    observed = run_parameters(kata, cases, [[m] for m in max_norms], removal=removals)
    for (case, seen), (_, order, _) in zip(observed, drawn):
        check_stack(seen["passes"][0], case.plain, case, f"after removing every handle in {order} order",
                    "Removing the returned handles, in any order, must remove the hooks: return the handles of the "
                    "hooks you registered.")


@given(drawn=batches(st.tuples(STACKS_NOT_FROZEN, st.integers(0, 99), FRACTION_HALF_OR_TENTH)))
@examples(3)
def test_removing_some_handles_leaves_the_others_clipping(kata, device, drawn):
    """Removing some handles restores plain gradients for exactly that many parameters; the others stay clipped."""
    cases = [Case(d, device) for d, _, _ in drawn]
    max_norms, chosen_lists = [], []
    for case, (_, seed, fraction) in zip(cases, drawn):
        norms = case.norms()
        if len(norms) < 2:
            fail("internal: the drawn stack has fewer than two trainable parameters.")
        max_norms.append(choose_max_norm(norms, "below_all", False, fraction))
        how_many = random.Random(seed + 1).randint(1, len(norms) - 1)
        chosen_lists.append(random.Random(seed).sample(range(len(norms)), how_many))
    removals = [[(0, i) for i in chosen] for chosen in chosen_lists]
    observed = run_parameters(kata, cases, [[m] for m in max_norms], removal=removals)
    for (case, seen), max_norm, chosen in zip(observed, max_norms, chosen_lists):
        norms = case.norms()
        got = seen["passes"][0]
        plain_names, clipped_names = [], []
        for name in case.trainable:
            grad = got.get(name)
            if grad is None:
                fail(f"{name}.grad is None after removing {len(chosen)} of {len(norms)} handles on {case.words()}.")
            clipped = reference_clip(case.plain[name], max_norm)
            if torch.allclose(grad.double(), case.plain[name].double(), **tolerance(grad.dtype, case.plain[name])):
                plain_names.append(name)
            elif torch.allclose(grad.double(), clipped.double(), **tolerance(grad.dtype, clipped, norms[name])):
                clipped_names.append(name)
            else:
                check_grad(grad, clipped, f"{name}.grad after removing some handles on {case.words()}", RESCALE,
                           norms[name])
        if len(plain_names) != len(chosen):
            fail(f"after removing {len(chosen)} of {len(norms)} handles on {case.words()}, {len(plain_names)} "
                 f"parameters have plain gradients and {len(clipped_names)} clipped ones: each handle must remove "
                 "exactly its own hook, and removing some handles must leave the other hooks clipping.")


@given(drawn=batches(st.tuples(STACKS_NOT_FROZEN, st.sampled_from([0.5, 0.1]), st.sampled_from([0.3, 0.05]),
                               st.sampled_from([None, 0, 1]))))
@examples(3)
def test_calling_clip_parameter_gradients_twice_stacks_both_clips(kata, device, drawn):
    """Two calls register two sets of hooks: both clip (the smaller max_norm wins); removing one set keeps the other."""
    cases = [Case(d, device) for d, _, _, _ in drawn]
    calls, removals = [], []
    for case, (_, first, second, remove) in zip(cases, drawn):
        low = min(v for v in case.norms().values() if v > 0)
        calls.append([low * first, low * second])
        removals.append([] if remove is None else [(remove, i) for i in range(len(case.trainable))])
    observed = run_parameters(kata, cases, calls, removal=removals)
    for (case, seen), pair, (_, _, _, remove) in zip(observed, calls, drawn):
        if seen["counts"] != [len(case.trainable)] * 2:
            fail(f"two calls to clip_parameter_gradients on {case.words()} returned {seen['counts']} handles; "
                 f"expected {len(case.trainable)} from each call: each call registers its own hooks.")
        expected = case.grads(pair, remove=[] if remove is None else [remove])
        left = ("both calls' hooks" if remove is None
                else f"only call {2 - remove}'s hooks (call {remove + 1}'s removed)")
        check_stack(seen["passes"][0], expected, case,
                    f"after calling clip_parameter_gradients twice (max_norm {pair[0]:.3g}, then {pair[1]:.3g}) with "
                    f"{left}",
                    "Each call registers its own hooks with its own max_norm, and they all run: keep max_norm in each "
                    "hook (a closure), not in shared state, and never remove another call's hooks.", min(pair))
