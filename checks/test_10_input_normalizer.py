"""Kata 10: attach_input_normalizer, a forward pre-hook that standardises a module's input.

Every spec is judged outside the learner's process: a @probe builds a module in the subject, attaches the
learner's hook, calls the module with tensors the judge drew and records what forward received; the
spec computes (x - x.mean()) / (x.std() + eps) with its own torch, in float64, and decides.

Contract clauses, and the specs that enforce them:

C1  attach_input_normalizer(module, eps=1e-5) returns the RemovableHandle of one forward pre-hook;
    handle.remove() restores the plain module (forward receives the caller's x itself again).
    -> attach_returns_a_removable_handle, removing_the_handle_restores_the_plain_module
C2  On every call, forward receives (x - x.mean()) / (x.std() + eps) in place of the first argument x:
    the whole tensor's mean and unbiased std, for any shape with two or more distinct values, any layout
    (transposed, sliced, expanded), float16/bfloat16/float32/float64, in x's dtype; the module's output
    is the module applied to that.
    -> forward_receives_the_standardised_input, standardising_works_in_every_floating_dtype,
       output_is_the_module_applied_to_the_standardised_input
C3  eps (int or float > 0, positional or keyword, default 1e-5) is added to the std: a constant input
    becomes zeros, not nan.
    -> eps_is_added_to_the_standard_deviation, default_eps_is_1e_minus_5, a_constant_input_becomes_zeros_not_nan
C4  The statistics come from each call's own x.   -> statistics_are_recomputed_on_every_call
C5  Every other positional argument reaches forward unchanged, in its place (the same objects).
    -> extra_positional_arguments_reach_forward_unchanged
C6  Every keyword argument reaches forward unchanged (the same objects).
    -> keyword_arguments_reach_forward_unchanged
C7  x passed by keyword, under the name of forward's first parameter (module(x=t), nn.Linear(input=t)),
    is standardised too; the other keyword arguments stay as they are.
    -> x_passed_by_keyword_is_standardised_too
C8  The caller's tensor is never modified.   -> the_callers_tensor_is_not_modified_in_place
C9  Gradients flow back to x through the normalisation (mean and std included); grad mode is left as
    the caller set it, and under torch.no_grad() nothing records history.
    -> gradients_flow_back_to_the_input, grad_mode_is_left_as_the_caller_set_it
"""

import functools
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.hooks import RemovableHandle

from kata_runner.asserts import assert_close, assert_equal, fail
from kata_runner.batching import batch_doing, cases_of, each_case, judged
from kata_runner.draw import TensorSpec, examples, given, sizes, st, tensors
from kata_runner.probing import outcome, probe

FORMULA = "The first argument x must become (x - x.mean()) / (x.std() + eps): the whole tensor's statistics."
REPLACES = "A pre-hook's return value replaces the module's arguments entirely."
KEYWORD = (
    "x may come by keyword, under the name of forward's first parameter (module(x=t), nn.Linear(input=t)): "
    "register with with_kwargs=True, and when args is empty standardise kwargs[name], where name is the first "
    "parameter of inspect.signature(module.forward)."
)
LAYOUT = "Any memory layout must work (transposed, sliced, expanded inputs): x.view(-1) does not."


# ------------------------------------------------------------------------------------------ probes
# These run in the subject, next to the learner's code. They observe; the specs below decide.


class ScaleShift(nn.Module):
    """forward(x, scale=1.0, shift=None) = x * scale + shift; it records the arguments it receives."""

    def forward(self, x, scale=1.0, shift=None):
        self.received = {"x": x, "scale": scale, "shift": shift}
        out = x * scale
        return out if shift is None else out + shift


class Offset(nn.Module):
    """forward(features, *, offset=0.0) = features + offset: a first parameter not named x."""

    def forward(self, features, *, offset=0.0):
        self.received = {"x": features, "offset": offset}
        return features + offset


class Recorded(nn.Linear):
    """nn.Linear (forward(input)), recording what it receives."""

    def forward(self, input):  # noqa: A002 - nn.Linear's own parameter name
        self.received = {"x": input}
        return super().forward(input)


def _module(kind, weight=None, bias=None):
    if kind == "linear":
        layer = Recorded(weight.shape[1], weight.shape[0], device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        return layer
    return {"scaleshift": ScaleShift, "offset": Offset}[kind]()


def _first(args, kwargs, name):
    return args[0] if args else kwargs.get(name)


def _session(impl, kind, attach_args, attach_kwargs, steps, weight=None, bias=None):
    module = _module(kind, weight, bias)
    handle = impl.attach_input_normalizer(module, *attach_args, **attach_kwargs)
    report = {"handle": type(handle).__name__, "is_handle": isinstance(handle, RemovableHandle),
              "removable": callable(getattr(handle, "remove", None)), "steps": []}
    name = {"scaleshift": "x", "offset": "features", "linear": "input"}[kind]
    for step in steps:
        if step == "remove":
            report["steps"].append({**outcome(handle.remove), "pre_hooks_left": len(module._forward_pre_hooks)})
            continue
        args, kwargs = list(step.get("args", [])), dict(step.get("kwargs", {}))
        x = _first(args, kwargs, name)
        if step.get("requires_grad"):
            x.requires_grad_(True)
        before = [t.clone() if torch.is_tensor(t) else t for t in (*args, *kwargs.values())]
        module.received = None
        if step.get("no_grad"):
            with torch.no_grad():
                out = module(*args, **kwargs)
                grad_mode = torch.is_grad_enabled()
        else:
            out = module(*args, **kwargs)
            grad_mode = torch.is_grad_enabled()
        received = module.received or {}
        got_x = received.get("x")
        seen = {
            "forward_ran": module.received is not None,
            "x": got_x.detach() if torch.is_tensor(got_x) else got_x,
            "x_is_the_callers": got_x is x,
            "others": {k: (v if not torch.is_tensor(v) else v.detach()) for k, v in received.items() if k != "x"},
            "same_objects": {k: any(v is a for a in (*args[1:], *(w for n, w in kwargs.items() if n != name)))
                             for k, v in received.items() if k != "x" and v is not None},
            "out": out.detach() if torch.is_tensor(out) else out,
            "history": torch.is_tensor(out) and (out.requires_grad or out.grad_fn is not None),
            "grad_mode": grad_mode,
            "callers_changed": any(torch.is_tensor(b) and not torch.equal(a, b)
                                   for a, b in zip((*args, *kwargs.values()), before)),
            "x_grad": None,
        }
        if step.get("grad_out") is not None and torch.is_tensor(out):
            (out * step["grad_out"]).sum().backward()
            seen["x_grad"] = x.grad
        report["steps"].append(seen)
    return report


@probe
def sessions(impl, cases):
    """Per (kind, attach_args, attach_kwargs, steps, weight, bias): attach the learner's hook to a fresh module,
    then run `steps`: calls (with their args and kwargs) or "remove". Report what forward received on each call,
    and what became of the caller's tensors."""
    return each_case(impl, cases, _session)


# ------------------------------------------------------------------------------------------ inputs


def standardised(x, eps=1e-5):
    """(x - x.mean()) / (x.std() + eps), in float64."""
    x = x.double()
    return (x - x.mean()) / (x.std() + eps)


def _distinct(spec):
    n = 1
    for side in spec.shape[1:] if spec.layout == "expanded" else spec.shape:
        n *= side
    return n >= 2


OFFSETS = st.sampled_from([0.0, 3.0, -5.0, 0.5])


@functools.cache
def _inputs_of(last, dtypes, min_leading):
    return tensors((last,), dtypes=dtypes, min_leading=min_leading, scale=2.0)


def inputs(dtypes=(torch.float32, torch.float64), min_leading=0, last=(1, 6)):
    """A TensorSpec of 2 or more distinct values, any layout, and an offset that moves its mean."""
    spec = st.integers(*last).flatmap(lambda k: _inputs_of(k, dtypes, min_leading))
    return st.tuples(spec.filter(_distinct), OFFSETS)


def make(xs, offset, device):
    """xs made on device, its values shifted by offset, its layout kept."""
    x = xs.make(device)
    if xs.layout == "expanded":
        return (x[:1] + offset).expand(x.shape)
    with torch.no_grad():
        return x.add_(offset)


def tolerance_for(x, eps=1e-5):
    if x.dtype == torch.float64:
        return {"rtol": 1e-9, "atol": 1e-9}
    unit = torch.finfo(x.dtype).eps
    spread = float(x.double().abs().max()) / (float(x.double().std()) + eps)
    size = max(1, x.numel()) ** 0.5
    return {"rtol": 8 * unit * size, "atol": 8 * unit * size * (1 + spread)}


def why_for(xs):
    return LAYOUT if xs.layout != "contiguous" else ""


def call(xs, offset, device, **extra):
    """One drawn call: x made on the device from (xs, offset), its words, and whatever the spec adds."""
    return SimpleNamespace(**{"xs": xs, "x": make(xs, offset, device), "words": xs.describe(), "why": "", **extra})


def run_sessions(kata, cases, doing, why=lambda case: case.why):
    """One session per case (case.session: kind, attach_args, attach_kwargs, steps, weight, bias); pairs of
    (case, report)."""
    seen = kata.run(sessions, [c.session for c in cases], doing=batch_doing([doing(c) for c in cases]),
                    why=why(cases[0]))
    return judged(cases, seen, doing, why)


def one_call(case, kind="scaleshift", eps_args=(), eps_kwargs=None, weight=None, bias=None, **step):
    """case.session: `kind` hooked with these eps arguments, called once on case.x (positionally, unless the
    step says otherwise)."""
    case.session = (kind, list(eps_args), eps_kwargs or {}, [{"args": [case.x], **step}], weight, bias)
    return case


def forward_ran(seen, doing):
    if not seen["forward_ran"]:
        fail(f"{doing}: the module's forward was never called. The hook must let forward run.")
    return seen


def check_received(seen, x, eps, words, why=FORMULA):
    got = seen["x"]
    if not torch.is_tensor(got):
        fail(f"forward received {type(got).__name__} as x on {words}; expected the standardised tensor. {why}")
    if got.dtype != x.dtype:
        fail(f"forward received x of dtype {got.dtype} on {words}: keep x's dtype {x.dtype}.")
    if got.shape == x.shape and bool(torch.isnan(got).any()) and not bool(torch.isnan(standardised(x, eps)).any()):
        fail(f"forward received nan values on {words}, although x has distinct values: statistics taken along one "
             "dimension of size 1 (x.std(dim) of one element) are nan. Use the whole tensor's statistics, x.mean() "
             f"and x.std(). {FORMULA}")
    assert_close(got.double(), standardised(x, eps), f"the x that forward received on {words}", why=why,
                 **tolerance_for(x, eps))


def on(case):
    return f"calling the hooked module on {case.words}"


# ------------------------------------------------------------------------------------------ specs


@given(drawn=cases_of(st.sampled_from([(), (0.5,), (1,)]), 3))
@examples(2)
def test_attach_returns_a_removable_handle(kata, device, drawn):
    """attach_input_normalizer returns the RemovableHandle that register_forward_pre_hook gave it."""
    cases = []
    for eps in drawn:
        case = SimpleNamespace(x=torch.randn(3, 4, device=device), eps=eps, why="")
        cases.append(one_call(case, eps_args=eps))
    for _, report in run_sessions(kata, cases, lambda c: f"attach_input_normalizer(module{', ' if c.eps else ''}"
                                                         f"{', '.join(map(str, c.eps))})"):
        if not report["is_handle"] or not report["removable"]:
            fail(f"attach_input_normalizer returned a {report['handle']}, not a RemovableHandle: return the handle "
                 "from module.register_forward_pre_hook(...), so the caller can remove the hook.")


@given(drawn=cases_of(st.tuples(inputs(min_leading=0), st.sampled_from(["scaleshift", "offset"])), 12))
@examples(2)
def test_forward_receives_the_standardised_input(kata, device, drawn):
    """forward receives (x - x.mean()) / (x.std() + eps) in place of x, for any shape and layout."""
    cases = [one_call(call(xs, offset, device, why=why_for(xs)), kind) for (xs, offset), kind in drawn]
    for case, report in run_sessions(kata, cases, on):
        seen, x = forward_ran(report["steps"][0], on(case)), case.x
        if torch.is_tensor(seen["x"]) and seen["x"].shape == x.shape and x.dim() >= 2:
            xd, others = x.double(), []
            if x.shape[-1] >= 2:
                others.append((xd - xd.mean(-1, keepdim=True)) / (xd.std(-1, keepdim=True) + 1e-5))
            if x.shape[0] >= 2:
                others.append((xd - xd.mean(0)) / (xd.std(0) + 1e-5))
            for other in others:
                if torch.allclose(seen["x"].double(), other, atol=1e-4) and not torch.allclose(
                        other, standardised(x), atol=1e-3):
                    fail(f"on {case.words}, forward received x standardised along one dimension; use the whole "
                         f"tensor's statistics, x.mean() and x.std(). {FORMULA}")
        check_received(seen, x, 1e-5, case.words, why=case.why or FORMULA)


@given(drawn=cases_of(inputs(dtypes=(torch.float16, torch.bfloat16, torch.float32, torch.float64)), 8))
@examples(2)
def test_standardising_works_in_every_floating_dtype(kata, device, drawn):
    """A float16, bfloat16, float32 or float64 x is standardised in its own dtype."""
    cases = [one_call(call(xs, offset, device, why=why_for(xs))) for xs, offset in drawn]
    for case, report in run_sessions(kata, cases, on):
        seen = forward_ran(report["steps"][0], on(case))
        check_received(seen, case.x, 1e-5, case.words, why=f"{FORMULA} Compute in x's dtype.")


SEEDS = st.integers(0, 2**16)


@given(drawn=cases_of(st.tuples(inputs(last=(5, 5)), sizes(1, 4), SEEDS, st.booleans()), 8))
@examples(2)
def test_output_is_the_module_applied_to_the_standardised_input(kata, device, drawn):
    """A hooked nn.Linear returns linear((x - x.mean()) / (x.std() + eps)), x positional or input=x."""
    cases = []
    for (xs, offset), out_f, seed, by_keyword in drawn:
        case = call(xs, offset, device, by_keyword=by_keyword, why=why_for(xs))
        case.weight = TensorSpec((out_f, 5), case.x.dtype, seed=seed).make(device)
        case.bias = TensorSpec((out_f,), case.x.dtype, seed=seed + 1).make(device)
        step = {"kwargs": {"input": case.x}} if by_keyword else {"args": [case.x]}
        case.session = ("linear", [], {}, [step], case.weight, case.bias)
        cases.append(case)

    def doing(c):
        return f"calling a hooked nn.Linear on {c.words}" + (" passed as input=x" if c.by_keyword else "")

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        expected = F.linear(standardised(case.x), case.weight.double(), case.bias.double())
        out = seen["out"]
        if not torch.is_tensor(out):
            fail(f"{doing(case)} returned {type(out).__name__}, expected a tensor.")
        assert_close(out.double(), expected, f"the hooked nn.Linear's output on {case.words}",
                     why=(KEYWORD if case.by_keyword else FORMULA), **tolerance_for(case.x))


@given(drawn=cases_of(st.tuples(inputs(dtypes=(torch.float64,)), st.sampled_from([0.5, 1, 2, 0.125]),
                                st.sampled_from(["positional", "keyword"])), 8))
@examples(2)
def test_eps_is_added_to_the_standard_deviation(kata, device, drawn):
    """With eps=0.5 (int or float, positional or keyword), x becomes (x - x.mean()) / (x.std() + 0.5)."""
    cases = []
    for (xs, offset), eps, style in drawn:
        case = call(xs, offset, device, eps=eps, style=style)
        args, kwargs = ((eps,), None) if style == "positional" else ((), {"eps": eps})
        cases.append(one_call(case, eps_args=args, eps_kwargs=kwargs))

    def doing(c):
        return f"calling a module hooked with eps={c.eps} ({c.style}) on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        check_received(seen, case.x, case.eps, f"{case.words} with eps={case.eps} ({case.style})",
                       why="Divide by x.std() + eps, with x.std() the default unbiased std, and use the eps argument.")


@given(drawn=cases_of(inputs(dtypes=(torch.float64,)), 6))
@examples(2)
def test_default_eps_is_1e_minus_5(kata, device, drawn):
    """Without an eps argument, eps is 1e-5 (visible on an input whose std is itself about 1e-5)."""
    cases = []
    for xs, _ in drawn:
        case = SimpleNamespace(x=xs.make(device) * 1e-5, words=f"{xs.describe()} scaled by 1e-5", why="")
        cases.append(one_call(case))

    def doing(c):
        return f"calling the module hooked with the default eps on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        check_received(seen, case.x, 1e-5, case.words, why="The default eps is 1e-5.")


@given(drawn=cases_of(st.tuples(st.lists(sizes(1, 5), min_size=1, max_size=3), st.integers(-8, 8),
                                st.sampled_from([torch.float32, torch.float64])), 6))
@examples(2)
def test_a_constant_input_becomes_zeros_not_nan(kata, device, drawn):
    """A constant input (std 0) is standardised to zeros: eps keeps the division finite."""
    cases = []
    for shape, value, dtype in drawn:
        x = torch.full((*shape, 2), float(value), device=device, dtype=dtype)
        cases.append(one_call(SimpleNamespace(x=x, words=f"a constant {tuple(x.shape)} input", why="")))

    def doing(c):
        return f"calling the hooked module on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        assert_close(seen["x"], torch.zeros_like(case.x), f"the x that forward received for {case.words}",
                     why="Its std is 0: add eps to the std before dividing, so the result is 0, not nan.")


@given(drawn=cases_of(st.tuples(inputs(), inputs()), 6))
@examples(2)
def test_statistics_are_recomputed_on_every_call(kata, device, drawn):
    """Each call is standardised with its own input's mean and std, not those of an earlier call."""
    cases = []
    for first, second in drawn:
        xs = [make(spec, offset * (i + 1) + i, device) for i, (spec, offset) in enumerate((first, second))]
        words = [spec.describe() for spec, _ in (first, second)]
        case = SimpleNamespace(xs=xs, words=words, why="")
        case.session = ("scaleshift", [], {}, [{"args": [x]} for x in xs], None, None)
        cases.append(case)

    def doing(c):
        return f"two calls of the hooked module, on {c.words[0]} then on {c.words[1]}"

    for case, report in run_sessions(kata, cases, doing):
        for step, (x, words, seen) in enumerate(zip(case.xs, case.words, report["steps"]), start=1):
            forward_ran(seen, f"call {step}")
            check_received(seen, x, 1e-5, f"call {step} ({words})",
                           why="Compute the mean and std from each call's x, on every call.")


@given(drawn=cases_of(st.tuples(inputs(), st.sampled_from([3.0, 2, -0.5]), st.sampled_from(["tensor", "float"])),
                      8))
@examples(2)
def test_extra_positional_arguments_reach_forward_unchanged(kata, device, drawn):
    """module(x, 3.0, shift) calls forward(standardised x, 3.0, shift): the other positional arguments are kept."""
    cases = []
    for (xs, offset), scale, shift_kind in drawn:
        case = call(xs, offset, device, scale=scale, why=REPLACES)
        x = case.x
        case.shift = torch.randn(x.shape, device=device, dtype=x.dtype) if shift_kind == "tensor" else 1.5
        case.session = ("scaleshift", [], {}, [{"args": [x, scale, case.shift]}], None, None)
        cases.append(case)

    def doing(c):
        return f"calling the hooked module with positional arguments (x, scale, shift) on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        scale, shift = case.scale, case.shift
        scale_got, shift_got = seen["others"]["scale"], seen["others"]["shift"]
        if scale_got == 1.0 and shift_got is None:
            fail("forward received only x: the hook returned a bare tensor, or a one-element tuple, where the whole "
                 "argument tuple is needed. PyTorch wraps a non-tuple return value as (value,), so it becomes the "
                 "whole argument list and scale and shift are silently lost: the hook dropped the extra positional "
                 f"arguments. {REPLACES} Return a tuple (normalised_x, *args[1:]).")
        if scale_got == 1.0 or shift_got is None:
            fail(f"forward received scale={scale_got!r}, shift={shift_got!r}: the hook dropped the extra positional "
                 f"arguments. {REPLACES} Return (normalised_x, *args[1:]) to keep them.")
        if type(scale_got) is not type(scale) or scale_got != scale or not all(seen["same_objects"].values()):
            fail(f"forward received scale={scale_got!r} instead of {scale!r}, or other objects than the caller "
                 "passed: leave the other positional arguments untouched.")
        if torch.is_tensor(shift):
            assert_equal(shift_got, shift, "the shift that forward received",
                         why="Only the first positional argument is normalised; leave the other positional arguments "
                             "untouched.")
        check_received(seen, case.x, 1e-5, case.words)


@given(drawn=cases_of(st.tuples(inputs(), st.sampled_from(["scaleshift", "offset"])), 8))
@examples(2)
def test_keyword_arguments_reach_forward_unchanged(kata, device, drawn):
    """module(x, scale=3.0, shift=shift) calls forward(standardised x, scale=3.0, shift=shift)."""
    cases = []
    for (xs, offset), kind in drawn:
        case = call(xs, offset, device, why="With with_kwargs=True the hook must return (new_args, new_kwargs).")
        extra = torch.randn(case.x.shape, device=device, dtype=case.x.dtype)
        case.kwargs = {"scale": 3.0, "shift": extra} if kind == "scaleshift" else {"offset": extra}
        case.session = (kind, [], {}, [{"args": [case.x], "kwargs": case.kwargs}], None, None)
        cases.append(case)

    def doing(c):
        return f"calling the hooked module with x and keyword arguments {sorted(c.kwargs)} on {c.words}"

    defaults = {"scale": 1.0, "shift": None, "offset": 0.0}
    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        kwargs = case.kwargs
        lost = [k for k in kwargs if seen["others"][k] is None or (seen["others"][k] == defaults[k]) is True]
        if lost:
            fail(f"forward received the defaults for {lost}: the keyword arguments were lost. With "
                 "with_kwargs=True, the (new_args, new_kwargs) the hook returns replace both: return the kwargs it "
                 "was given, unchanged.")
        if not all(seen["same_objects"].values()):
            fail("forward received other objects than the caller's keyword arguments: leave the keyword arguments "
                 "untouched.")
        for k, v in kwargs.items():
            if torch.is_tensor(v):
                assert_equal(seen["others"][k], v, f"the {k} keyword argument that forward received",
                             why="Only x is normalised; leave the keyword arguments untouched.")
        check_received(seen, case.x, 1e-5, case.words)


KEYWORD_NAMES = {"scaleshift": "x", "offset": "features", "linear": "input"}


@given(drawn=cases_of(st.tuples(inputs(), st.sampled_from(["scaleshift", "offset", "linear"])), 8))
@examples(2)
def test_x_passed_by_keyword_is_standardised_too(kata, device, drawn):
    """module(x=t), Offset(features=t) and nn.Linear(input=t) standardise t: x may come by keyword."""
    cases = []
    for (xs, offset), kind in drawn:
        if kind == "linear":
            xs = TensorSpec((*xs.shape[:-1], 3), xs.dtype, xs.layout, xs.seed, xs.scale)
        case = call(xs, offset, device, kind=kind, name=KEYWORD_NAMES[kind], why=KEYWORD)
        kwargs = {case.name: case.x}
        if kind == "scaleshift":
            kwargs["scale"] = 2.0
        weight = TensorSpec((2, 3), case.x.dtype, seed=1).make(device)
        bias = TensorSpec((2,), case.x.dtype, seed=2).make(device)
        case.session = (kind, [], {}, [{"kwargs": kwargs}], weight, bias)
        cases.append(case)

    def doing(c):
        return f"calling the hooked module as module({c.name}=x) on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        if seen["x_is_the_callers"]:
            fail(f"{doing(case)}: forward received the caller's x untouched. The tensor passed by keyword was not "
                 f"standardised. {KEYWORD}")
        if case.kind == "scaleshift" and seen["others"]["scale"] != 2.0:
            fail(f"{doing(case)} with scale=2.0: forward received scale={seen['others']['scale']!r}; the other "
                 "keyword arguments must stay as they are.")
        check_received(seen, case.x, 1e-5, f"{case.words} passed as {case.name}=x", why=KEYWORD)


IN_PLACE = ("Build a new tensor with out-of-place ops, (x - x.mean()) / (x.std() + eps), never sub_()/div_() in place: "
            "the caller still owns x.")


@given(drawn=cases_of(st.tuples(inputs(), st.booleans()), 8))
@examples(2)
def test_the_callers_tensor_is_not_modified_in_place(kata, device, drawn):
    """After the call, the caller's x still holds its original values: the hook built a new tensor."""
    cases = []
    for (xs, offset), by_keyword in drawn:
        case = call(xs, offset, device, why=KEYWORD if by_keyword else IN_PLACE)
        step = {"kwargs": {"x": case.x}} if by_keyword else {"args": [case.x]}
        case.session = ("scaleshift", [], {}, [step], None, None)
        cases.append(case)
    for case, report in run_sessions(kata, cases, on):
        seen = forward_ran(report["steps"][0], on(case))
        if seen["callers_changed"]:
            fail(f"{on(case)}: the hook modified the caller's tensor in place. {IN_PLACE}")


@given(drawn=cases_of(st.tuples(inputs(), st.booleans(), SEEDS), 8))
@examples(2)
def test_gradients_flow_back_to_the_input(kata, device, drawn):
    """Backward through a hooked nn.Linear gives x.grad, the gradient through the normalisation."""
    cases = []
    for (xs, offset), by_keyword, seed in drawn:
        xs = TensorSpec((*xs.shape[:-1], 4), xs.dtype, "contiguous", xs.seed, xs.scale)
        case = call(xs, offset, device, by_keyword=by_keyword, why=KEYWORD if by_keyword else "")
        x = case.x
        case.weight = TensorSpec((3, 4), x.dtype, seed=seed).make(device)
        case.bias = TensorSpec((3,), x.dtype, seed=seed + 1).make(device)
        case.grad_out = TensorSpec((*x.shape[:-1], 3), x.dtype, seed=seed + 2).make(device)
        step = {"kwargs": {"input": x}} if by_keyword else {"args": [x]}
        case.session = ("linear", [], {}, [{**step, "requires_grad": True, "grad_out": case.grad_out}], case.weight,
                        case.bias)
        cases.append(case)

    def doing(c):
        return (f"backward through a hooked nn.Linear{' called as linear(input=x)' if c.by_keyword else ''}, on "
                f"{c.words}")

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        reference = case.x.double().requires_grad_(True)
        (F.linear(standardised(reference), case.weight.double(), case.bias.double()) * case.grad_out.double()
         ).sum().backward()
        if seen["x_grad"] is None:
            fail(f"x.grad is None after {doing(case)}: gradients do not flow back to x through the hook. Do not "
                 "detach x or normalise under torch.no_grad(); out-of-place tensor ops are recorded by autograd.")
        assert_close(seen["x_grad"].double(), reference.grad, f"x.grad for {case.words}", **tolerance_for(case.x),
                     why="The gradient must flow through the normalisation, mean and std included: do not detach "
                         "them.")


@given(drawn=cases_of(st.tuples(inputs(), st.booleans()), 6))
@examples(2)
def test_grad_mode_is_left_as_the_caller_set_it(kata, device, drawn):
    """The hook leaves grad mode alone: enabled stays enabled, and under torch.no_grad() nothing records history."""
    cases = []
    for (xs, offset), no_grad in drawn:
        case = call(xs, offset, device, no_grad=no_grad)
        case.session = ("scaleshift", [], {}, [{"args": [case.x], "no_grad": no_grad, "requires_grad": True}], None,
                        None)
        cases.append(case)

    def doing(c):
        return f"calling the hooked module{' under torch.no_grad()' if c.no_grad else ''} on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        seen = forward_ran(report["steps"][0], doing(case))
        if seen["grad_mode"] == case.no_grad:
            fail(f"after {doing(case)} grad mode is {'on' if seen['grad_mode'] else 'off'}: leave "
                 "torch.is_grad_enabled() as the caller set it.")
        if case.no_grad and seen["history"]:
            fail(f"under torch.no_grad() the hooked module's output on {case.words} still records autograd history.")
        if not case.no_grad and not seen["history"]:
            fail(f"the hooked module's output on {case.words} does not require grad although x does: gradients do "
                 "not flow back to x.")


@given(drawn=cases_of(st.tuples(inputs(), st.booleans()), 6))
@examples(2)
def test_removing_the_handle_restores_the_plain_module(kata, device, drawn):
    """After handle.remove(), forward receives the caller's x itself again."""
    cases = []
    for (xs, offset), by_keyword in drawn:
        case = call(xs, offset, device, why=KEYWORD if by_keyword else "")
        step = {"kwargs": {"x": case.x}} if by_keyword else {"args": [case.x]}
        case.session = ("scaleshift", [], {}, [step, "remove", step], None, None)
        cases.append(case)

    def doing(c):
        return f"hook, call, handle.remove(), call, on {c.words}"

    for case, report in run_sessions(kata, cases, doing):
        if not report["removable"]:
            fail(f"attach_input_normalizer returned a {report['handle']}, not a RemovableHandle, so the hook can "
                 "never be removed: return the handle that module.register_forward_pre_hook(...) gives you.")
        removed = report["steps"][1]
        if removed["raised"] is not None:
            fail(f"handle.remove() raised {removed['raised']['type']}: {removed['raised']['message']}.")
        seen = forward_ran(report["steps"][2], f"calling the module after handle.remove(), on {case.words}")
        if not seen["x_is_the_callers"]:
            left = removed["pre_hooks_left"]
            fail(f"after handle.remove() forward still receives a modified x ({case.words}), and the module still has "
                 f"{left} forward pre-hook(s): register exactly one hook and return its handle, so that removing it "
                 "restores the plain module (a hook registered twice is still there).")
