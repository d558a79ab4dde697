"""Kata 12: load_compatible(model, state_dict), loading what fits from a state_dict.

Every spec draws a model tree with Hypothesis as a plain description (Linear with or without bias,
BatchNorm with or without running stats, LayerNorm, Embedding, layers without parameters, a subclass of
nn.Linear, user blocks with private names and non-persistent buffers, tied weights, frozen parameters, a
dtype) and a checkpoint plan for its keys: kept, reshaped (transposed, flattened, broadcastable, grown),
dropped, plus unexpected keys, in any order, dtype, memory layout and device. A probe builds the model in
the subject and runs the learner's load_compatible; the judge builds its own copy and takes the expected
report from the model's state_dict() keys and the expected values from PyTorch's own
load_state_dict(strict=False) on the entries that fit.

Contract clauses, and the specs that enforce them:

C1  load_compatible returns a report whose loaded, mismatched, missing and unexpected are sorted lists of str
    keys.   -> every_report_list_is_sorted
C2  loaded: the keys of state_dict that model.state_dict() has with exactly the same shape (also under a
    tied weight's second name).   -> matching_keys_are_reported_loaded, the_seed_notebooks_example
C3  mismatched: keys in both with another shape (a transposed or flattened value with the same number of
    elements, a broadcastable one, a grown one); skipped without raising.
    -> shape_mismatches_are_reported_mismatched, a_broadcastable_value_is_a_mismatch_not_a_copy,
       a_value_with_the_same_number_of_elements_is_a_mismatch
C4  missing: keys of model.state_dict() that state_dict lacks; a mismatched key is not missing; a
    non-persistent buffer is never missing.   -> keys_absent_from_the_state_dict_are_reported_missing,
    non_persistent_buffers_are_never_missing_nor_loaded
C5  unexpected: keys of state_dict that model.state_dict() lacks (a non-persistent buffer's name too).
    -> keys_the_model_lacks_are_reported_unexpected, non_persistent_buffers_are_never_missing_nor_loaded
C6  Loaded entries take the state_dict's values (any memory layout), cast to the model's dtype (float16,
    bfloat16, float32, float64) and device; buffers (BatchNorm's running stats, user buffers) load too.
    -> matching_entries_are_copied_into_the_model, buffers_load_too, values_are_cast_to_the_models_dtype,
       a_cpu_state_dict_loads_into_a_model_on_the_device
C7  Nothing else changes: mismatched and missing entries and non-persistent buffers keep their values.
    -> mismatched_and_missing_entries_keep_their_values
C8  In place: the model keeps the same Parameter objects (an optimizer built before still trains it) and
    their requires_grad flags (frozen stays frozen).   -> parameters_are_updated_in_place
C9  The model shares no memory with the source afterwards.   -> loaded_values_share_no_memory_with_the_source
C10 The caller's state_dict (any Mapping: dict, OrderedDict, a read-only MappingProxyType) keeps its keys,
    their order and its values.   -> the_callers_state_dict_is_not_modified
C11 Grad mode is left as found; it works under torch.no_grad() too.   -> grad_mode_is_left_as_it_was
C12 A checkpoint written with torch.save and read with torch.load(weights_only=True) loads completely.
    -> a_torch_save_and_load_round_trip_loads
"""

import functools
import io
import math
import random
from collections import OrderedDict
from types import MappingProxyType

import torch
from torch import nn

from kata_runner.asserts import assert_close, assert_keys, each, fail
from kata_runner.batching import distinct_batches as batches
from kata_runner.draw import examples, given, make_tensor, st
from kata_runner.probing import probe, snapshot
from kata_runner.subject import LearnerError, reset_state

FIELDS = ("loaded", "mismatched", "missing", "unexpected")
NO_RAISE = (
    "load_compatible must skip what does not fit instead of raising: load_state_dict(strict=False) still raises "
    "on a size mismatch, so filter by shape first; and an in-place copy into a Parameter needs torch.no_grad()."
)
LOADED = "An entry whose key and shape both match the model is copied and reported as loaded."
MISMATCHED = "Keys present in both with different shapes must be reported as mismatched (skipped, not loaded)."
MISSING = (
    "missing lists the model's state_dict keys that the state_dict lacks; a key present with another shape is "
    "mismatched, not missing."
)
UNEXPECTED = "Keys of the state_dict that the model does not have are reported as unexpected."
EXACT = (
    "Compare shapes exactly (own[key].shape == value.shape): copy_ would broadcast this value over the model's "
    "tensor, so catching copy_'s errors is not a shape check."
)
NUMEL = (
    "A value with the same number of elements but another shape is a mismatch: compare shapes, not numel(), "
    "and never reshape a checkpoint's tensor to fit."
)
COPY = "Copy into the model's own tensors in place (own[key].copy_(value) under torch.no_grad())."
NON_PERSISTENT = (
    "A non-persistent buffer (register_buffer(..., persistent=False)) is not part of a state_dict: it is never "
    "missing, a key with its name is unexpected, and it is never loaded. Compare against model.state_dict(), not "
    "named_parameters() + named_buffers()."
)
TIED = ("A tied weight appears in model.state_dict() under each of its names; each of those keys loads (and is "
        "reported) like any other.")


# ------------------------------------------------------------------------------------------ the models


class Block(nn.Module):
    """A user-defined module: whatever the description plants."""


class ScaledLinear(nn.Linear):
    """A subclass of a built-in layer with a persistent and a private non-persistent buffer."""

    def __init__(self, n):
        super().__init__(n, n)
        self.register_buffer("gain", torch.ones(n))
        self.register_buffer("_scratch", torch.zeros(n), persistent=False)


def _layer(kind, n, opts):
    if kind == "linear":
        return nn.Linear(n, n + 1, bias=opts.get("bias", True))
    if kind == "embedding":
        return nn.Embedding(n + 2, n)
    if kind == "batchnorm":
        return nn.BatchNorm1d(n, affine=opts.get("affine", True), track_running_stats=opts.get("track", True))
    if kind == "layernorm":
        return nn.LayerNorm(n, elementwise_affine=opts.get("affine", True))
    if kind == "relu":
        return nn.ReLU()
    if kind == "scaled_linear":
        return ScaledLinear(n)
    return {"block": Block, "sequential": nn.Sequential, "moduledict": nn.ModuleDict}[kind]()


def skeleton(desc):
    """The modules a description stands for, ties made, before its dtype, device and values."""

    def make(node):
        module = _layer(node["kind"], node["size"], node.get("opts", {}))
        for name, child in node.get("children", []):
            module.add_module(name, make(child))
        for name, shape in node.get("params", []):
            module.register_parameter(name, nn.Parameter(torch.zeros(shape)))
        for name, shape, persistent in node.get("buffers", []):
            module.register_buffer(name, torch.zeros(shape), persistent=persistent)
        return module

    model = make(desc["root"])
    modules = [m for m in model.modules()]
    for k, (i, j) in enumerate(desc.get("ties", [])):
        params = [p for m in modules for p in m._parameters.values() if p is not None]
        if params:
            setattr(modules[j % len(modules)], f"tied{k}", params[i % len(params)])
    return model


def build(desc, device):
    """The model a description stands for, with deterministic values, in its dtype on `device`."""
    model = skeleton(desc)
    model.to(device=device, dtype=desc["dtype"])
    with torch.no_grad():
        for index, (_, tensor) in enumerate(sorted(model.state_dict(keep_vars=True).items())):
            tensor.copy_(make_tensor(tuple(tensor.shape), tensor.dtype, device, seed=1000 + index))
    params = list(model.parameters())
    for i in desc.get("frozen", []):
        if params:
            params[i % len(params)].requires_grad_(False)
    return model


def _non_persistent(model):
    saved = model.state_dict()
    return {name: b.detach().clone() for name, b in model.named_buffers() if name not in saved}


# ------------------------------------------------------------------------------------------ probes


def _wrap(source, kind):
    if kind == "OrderedDict":
        return OrderedDict(source)
    if kind == "MappingProxyType":
        return MappingProxyType(source)
    return source


@probe
def partial_load(impl, cases, observe=()):
    """For each (desc, source, device, options): load_compatible's report, and the observations named in `observe`
    (the model, its Parameters and the caller's state_dict afterwards: every step runs all the same, only the
    copies nobody asked for are skipped). Every case starts from the state a probe call starts from (seed 0,
    torch's defaults), as if it had its own call."""
    seen = []
    for desc, source, device, options in cases:
        reset_state(0)
        found = _load(impl, desc, source, device, set(observe), **options)
        seen.append({key: value for key, value in found.items() if key == "report" or key in observe})
    return seen


def _load(impl, desc, source, device, observe, mapping="dict", no_grad=False, via_file=False):
    def look(name, state):
        return snapshot(state) if name in observe else None

    model = build(desc, device)
    params = list(model.parameters())
    if via_file:
        buffer = io.BytesIO()
        # detach(): a fresh tensor object, without the wire's bookkeeping attribute (which torch.load's
        # weights_only unpickler would refuse).
        torch.save({key: value.detach() for key, value in source.items()}, buffer)
        buffer.seek(0)
        source = torch.load(buffer, weights_only=True)
    mapping_value = _wrap(source, mapping)
    keys_before = list(source)
    values_before = look("source_values", source)
    grad_before = torch.is_grad_enabled()
    if no_grad:
        with torch.no_grad():
            report = impl.load_compatible(model, mapping_value)
    else:
        report = impl.load_compatible(model, mapping_value)
    grad_kept = torch.is_grad_enabled() == grad_before
    fields = {name: getattr(report, name, "<no such attribute>") for name in FIELDS}
    after = look("after", model.state_dict())
    non_persistent = _non_persistent(model) if "non_persistent" in observe else None
    source_keys, source_values = list(source), look("source_values", source)
    with torch.no_grad():  # change the source in place: a model sharing its memory would follow
        for value in source.values():
            if 0 not in value.stride():
                value.add_(1)
    after_source_change = look("after_source_change", model.state_dict())
    step_error = None
    try:
        with torch.no_grad():  # an optimizer built before the load: update the Parameters held before
            for p in params:
                p.sub_(0.5)
    except RuntimeError as exc:  # e.g. a Parameter that adopted an expanded checkpoint tensor
        step_error = str(exc).splitlines()[0][:200]
    after_step = look("after_step", model.state_dict())
    total = sum((p.float().sum() for p in model.parameters() if p.requires_grad), torch.zeros((), device=device))
    if total.requires_grad:
        total.backward()
    grads = [p.grad is not None for p in params]
    return {"report": fields, "after": after, "non_persistent": non_persistent, "grad_kept": grad_kept,
            "source_keys": [keys_before, source_keys], "source_values": [values_before, source_values],
            "after_source_change": after_source_change, "after_step": after_step, "grads": grads,
            "step_error": step_error}


# ------------------------------------------------------------------------------------------ drawing


LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")


def _layout_fits(layout, shape):
    """Whether make_tensor can give a tensor of `shape` that layout (else it is contiguous)."""
    if layout == "transposed":
        return len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1
    if layout == "sliced":
        return len(shape) >= 1 and shape[-1] > 0
    if layout == "expanded":
        return len(shape) >= 2 and shape[0] > 1
    return True


PUBLIC = ("alpha", "beta", "scale", "shift", "mask", "table", "steps", "stats", "head", "body")
PRIVATE = ("_alpha", "_memo", "_state")
LEAVES = ("linear", "embedding", "batchnorm", "layernorm", "relu", "scaled_linear")
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


# Strategies are built once (one built inside a composite is validated again on every draw); choices among
# values known only once drawn (a model's keys) take an index.
CONTAINERS = ("block", "sequential", "moduledict")
SIZES = (1, 2, 3, 4)
FLAGS = (False, True)


def weighted(options_by_group):
    """A sampled_from in which each group of options is equally likely, its simplest option first."""
    weight = math.lcm(*(len(group) for group in options_by_group))
    return st.sampled_from([option for group in options_by_group for option in group * (weight // len(group))])


# A node's kind, size and options in one draw, each kind as likely as it was drawn on its own.
FORMS = {
    "linear": [("linear", n, (("bias", bias),)) for bias in FLAGS for n in SIZES],
    "embedding": [("embedding", n, ()) for n in SIZES],
    "batchnorm": [("batchnorm", n, (("affine", a), ("track", t))) for a in FLAGS for t in FLAGS for n in SIZES],
    "layernorm": [("layernorm", n, (("affine", a), ("track", t))) for a in FLAGS for t in FLAGS for n in SIZES],
    "relu": [("relu", n, ()) for n in SIZES],
    "scaled_linear": [("scaled_linear", n, ()) for n in SIZES],
    **{kind: [(kind, n, ()) for n in SIZES] for kind in CONTAINERS},
}
KINDS = {True: weighted([FORMS[kind] for kind in LEAVES + CONTAINERS]), False: weighted([FORMS[k] for k in LEAVES])}
STEM_SIZES = st.integers(2, 4)
SIDES = st.integers(1, 3)
FLAG = st.booleans()
PICK = st.integers(0, 50)
INDEX = st.integers(0, 2**16 - 1)
SEEDS = st.integers(0, 2**16)
COUNTS = {(least, most): st.integers(least, most) for least in (0, 1) for most in (2, 3)}
ROOT_NAMES = st.lists(st.sampled_from(PUBLIC + PRIVATE), min_size=1, max_size=3, unique=True)
PARAM_SHAPES = st.lists(SIDES, max_size=2)


def pick(draw, values):
    """One of `values` (a sequence known only once drawn); shrinks towards the first."""
    return values[draw(INDEX) % len(values)]


@functools.cache
def sampled(options):
    return st.sampled_from(options)


@st.composite
def nodes(draw, depth):
    kind, size, opts = draw(KINDS[depth > 0])
    node = {"kind": kind, "size": size, "opts": dict(opts), "children": [], "params": [], "buffers": []}
    if kind in CONTAINERS:
        # five distinct names in one draw (the names themselves are never what a spec is about)
        labels = random.Random(draw(INDEX)).sample(PUBLIC + PRIVATE, 5)
        for i in range(draw(COUNTS[1, 3])):
            name = str(i) if kind == "sequential" else labels.pop()
            node["children"].append([name, draw(NODES[depth - 1])])
        if kind == "block":
            if draw(FLAG):
                node["params"].append([labels.pop(), draw(PARAM_SHAPES)])
            if draw(FLAG):
                node["buffers"].append([labels.pop(), [draw(SIDES)], draw(FLAG)])
    return node


NODES = {depth: nodes(depth) for depth in range(3)}


@st.composite
def models(draw, dtypes=(torch.float32, torch.float64), need=()):
    """A model description: a Block root holding a few subtrees, maybe tied weights and frozen parameters."""
    root = {"kind": "block", "size": 2, "opts": {}, "children": [], "params": [], "buffers": []}
    names = draw(ROOT_NAMES)
    for name in names:
        root["children"].append([name, draw(NODES[2])])
    root["children"].append(["stem", {"kind": "linear", "size": draw(STEM_SIZES), "opts": {"bias": True},
                                      "children": [], "params": [], "buffers": []}])
    if "batchnorm" in need:
        root["children"].append(["norm", {"kind": "batchnorm", "size": 3, "opts": {}, "children": [], "params": [],
                                          "buffers": []}])
    if "buffers" in need or "non_persistent" in need:
        root["buffers"].append(["_running", [3], True])
        root["children"].append(["scaled", {"kind": "scaled_linear", "size": 2, "opts": {}, "children": [],
                                            "params": [], "buffers": []}])
    if "non_persistent" in need:
        root["buffers"].append(["scratch", [2], False])
    ties = [[draw(PICK), draw(PICK)] for _ in range(draw(COUNTS[int("ties" in need), 2]))]
    frozen = [draw(PICK) for _ in range(draw(COUNTS[int("frozen" in need), 2]))]
    return {"root": root, "ties": ties, "frozen": frozen, "dtype": draw(sampled(dtypes))}


def _reshaped(shape, how):
    """Another shape for a value: "transposed"/"flattened" keep the number of elements, "broadcastable" is
    (1, ...) and copy_ would broadcast it, "grown" is bigger. None when it cannot differ that way."""
    numel = 1
    for s in shape:
        numel *= s
    if how == "transposed" and len(shape) >= 2 and shape[0] != shape[-1]:
        return tuple(reversed(shape))
    if how == "flattened" and len(shape) >= 2 and numel > 0:
        return (numel,)
    if how == "broadcastable":
        if numel > 1:
            return (1,) * len(shape)
        return (1,) if shape == () else ()
    if how == "grown":
        return (shape[0] + 1, *shape[1:]) if shape else (2,)
    return None


UNEXPECTED_KEYS = ("extra.weight", "head.9.bias", "stem.weight_old", "alpha.beta", "num_batches_tracked", "stem")
CHECKPOINT_LAYOUTS = st.sampled_from(LAYOUTS)
CHECKPOINT_DTYPES = st.sampled_from((None, torch.float32, torch.float64, torch.float16))


@functools.cache
def unexpected_keys(least, most):
    return st.lists(st.sampled_from(UNEXPECTED_KEYS), min_size=least, max_size=most, unique=True)


@st.composite
def plans(draw, keys, **options):
    return draw_plan(draw, keys, **options)


def draw_plan(draw, keys, actions=("keep", "keep", "reshape", "drop"), reshapes=("transposed", "flattened",
                                                                                "broadcastable", "grown"),
              extra=(0, 2), force=()):
    """What the checkpoint does with each of the model's keys, and which unexpected keys it adds."""
    plan = {key: draw(sampled(actions)) for key in keys}
    for action in force:
        if action not in plan.values() and keys:
            plan[pick(draw, sorted(keys))] = action
    shapes = {key: draw(sampled(reshapes)) for key, action in plan.items() if action == "reshape"}
    unexpected = draw(unexpected_keys(*extra))
    order = list(range(len(keys) + len(unexpected)))
    random.Random(draw(SEEDS)).shuffle(order)  # one draw for the checkpoint's order, any order
    layout = draw(CHECKPOINT_LAYOUTS)
    dtype = draw(CHECKPOINT_DTYPES)
    return {"plan": plan, "shapes": shapes, "unexpected": unexpected, "order": list(order), "layout": layout,
            "dtype": dtype, "seed": draw(SEEDS)}


def _keys(desc):
    return [*skeleton(desc).state_dict()]


def checkpoints(model_opts=None, plan_opts=None, tweak=None):
    """A model description and a checkpoint plan for its keys, drawn together (no st.data())."""
    model_opts, plan_opts = model_opts or {}, plan_opts or {}
    return _checkpoints(models(**model_opts), tuple(sorted(plan_opts.items())), tweak)


@st.composite
def _checkpoints(draw, model_descs, plan_opts, tweak):
    desc = draw(model_descs)
    plan = draw_plan(draw, _keys(desc), **dict(plan_opts))
    if tweak is not None:
        tweak(draw, desc, plan)
    return desc, plan


# ------------------------------------------------------------------------------------------ the oracle


class Case:
    """A model, a checkpoint for it, and what PyTorch says should happen."""

    def __init__(self, desc, plan, device, source_device=None):
        self.desc, self.device = desc, device
        model = build(desc, device)
        own = model.state_dict()
        self.own_shapes = {key: tuple(value.shape) for key, value in own.items()}
        self.before = snapshot(own)
        self.non_persistent_before = _non_persistent(model)
        source_device = device if source_device is None else source_device
        entries = []
        for index, (key, action) in enumerate(sorted(plan["plan"].items())):
            if action == "drop":
                continue
            shape = self.own_shapes[key]
            if action == "reshape":
                shape = _reshaped(shape, plan["shapes"][key])
                if shape is None or shape == self.own_shapes[key]:
                    shape = _reshaped(self.own_shapes[key], "grown")
            dtype = own[key].dtype if not own[key].is_floating_point() else plan["dtype"] or own[key].dtype
            layout = plan["layout"] if _layout_fits(plan["layout"], shape) else "contiguous"
            entries.append((key, make_tensor(shape, dtype, source_device, layout, plan["seed"] + index)))
        for index, key in enumerate(plan["unexpected"]):
            if key not in own:
                entries.append((key, make_tensor((2,), torch.float32, source_device, seed=plan["seed"] - index)))
        self._tie_values(model, entries)
        order = [i for i in plan["order"] if i < len(entries)] + list(range(len(plan["order"]), len(entries)))
        self.source = {entries[i][0]: entries[i][1] for i in order}
        fitting = {k: v for k, v in self.source.items() if k in own and tuple(v.shape) == self.own_shapes[k]}
        self.expected = {
            "loaded": sorted(fitting),
            "mismatched": sorted(k for k in self.source if k in own and k not in fitting),
            "missing": sorted(k for k in own if k not in self.source),
            "unexpected": sorted(k for k in self.source if k not in own),
        }
        self.non_persistent_names = set(self.non_persistent_before)
        model.load_state_dict(fitting, strict=False)  # PyTorch's own copy: cast, device, in place
        self.after = snapshot(model.state_dict())
        with torch.no_grad():
            for p in model.parameters():
                p.sub_(0.5)
        self.after_step = snapshot(model.state_dict())
        self.trainable = [p.requires_grad for p in model.parameters()]
        self.tied = {k for k, v in model.state_dict(keep_vars=True).items()
                     if sum(v is w for w in model.state_dict(keep_vars=True).values()) > 1}

    @staticmethod
    def _tie_values(model, entries):
        """Keys naming one tied tensor get one value in the checkpoint (a consistent checkpoint)."""
        mine = model.state_dict(keep_vars=True)
        first = {}
        for i, (key, value) in enumerate(entries):
            if key in mine and tuple(value.shape) == tuple(mine[key].shape):
                owner = id(mine[key])
                if owner in first:
                    entries[i] = (key, entries[first[owner]][1].clone())
                else:
                    first[owner] = i

    def words(self):
        dtype = str(self.desc["dtype"]).removeprefix("torch.")
        counts = {k: len(v) for k, v in self.expected.items()}
        ties = " with tied weights" if self.tied else ""
        return (f"a {dtype} model of {len(self.own_shapes)} state_dict keys{ties}, and a checkpoint with "
                f"{counts['loaded']} fitting, {counts['mismatched']} reshaped, {counts['unexpected']} unexpected "
                f"entries and {counts['missing']} left out")


def run_cases(kata, cases, observe=(), options=None):
    """load_compatible on every case in one round trip, each report checked for its shape. `observe`: what the spec
    looks at besides the report; `options`: the probe's, one dict a case. When the learner's code raises, each
    case is run again on its own, so that the message names the case that raises (the batch's own message names
    only its first)."""
    options = options or [{}] * len(cases)
    calls = [(case.desc, case.source, case.device, option) for case, option in zip(cases, options)]
    doings = [f"load_compatible on {case.words()}" for case in cases]
    whys = [NO_RAISE + (" The state_dict passed in was read-only (a MappingProxyType): never modify the caller's "
                        "state_dict." if option.get("mapping") == "MappingProxyType" else "") for option in options]
    more = f" (and {len(cases) - 1} more drawn checkpoints)" if len(cases) > 1 else ""
    try:
        seen_all = each(cases, kata.run(partial_load, calls, observe, doing=doings[0] + more, why=whys[0]))
    except LearnerError:
        if len(cases) == 1:
            raise
        for call, doing, why in zip(calls, doings, whys):
            kata.run(partial_load, [call], observe, doing=doing, why=why)
        raise
    for case, seen in seen_all:
        for name in FIELDS:
            value = seen["report"][name]
            if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
                fail(f"the report's '{name}' after load_compatible on {case.words()} should be a list of state_dict "
                     f"keys (str), got {value!r}: load_compatible returns a LoadReport with the sorted lists loaded, "
                     "mismatched, missing, unexpected.")
    return seen_all


def judged(drawn, device, **case_options):
    """The drawn (description, plan) pairs as Cases, with what PyTorch says should happen."""
    return [Case(desc, plan, device, **case_options) for desc, plan in drawn]


def expect_field(seen, case, name, why):
    got = seen["report"][name]
    if sorted(got) == case.expected[name]:
        return
    notes = []
    extra, lost = set(got) - set(case.expected[name]), set(case.expected[name]) - set(got)
    if name == "missing" and (both := sorted(extra & set(case.expected["mismatched"]))):
        notes.append(f"{both[0]!r} is in the checkpoint with another shape: it is mismatched, not missing.")
    if extra & case.non_persistent_names or lost & case.non_persistent_names:
        notes.append(NON_PERSISTENT)
    if (extra | lost) & case.tied:
        notes.append(TIED)
    notes.append(why)
    assert_keys(got, case.expected[name], f"report.{name} for {case.words()}", why=" ".join(notes))


def expect_state(got, expected, case, what, why, keys=None):
    keys = sorted(expected) if keys is None else keys
    assert_keys(got.keys(), expected.keys(), f"model.state_dict() keys {what} ({case.words()})")
    for key in keys:
        value = got[key]
        if value.dtype != expected[key].dtype:
            fail(f"the model's '{key}' has dtype {value.dtype} {what} ({case.words()}); it must keep the model's "
                 f"dtype {expected[key].dtype}. {why}")
        assert_close(value, expected[key], f"the model's '{key}' {what} ({case.words()})", rtol=0, atol=0, why=why)


# ------------------------------------------------------------------------------------------ batches


# ------------------------------------------------------------------------------------------ specs: the report


@given(drawn=batches(checkpoints(plan_opts={"force": ("keep", "reshape", "drop"), "extra": (2, 3)}), 2, 4))
@examples(2)
def test_every_report_list_is_sorted(kata, device, drawn):
    """loaded, mismatched, missing and unexpected each come back sorted, whatever the state_dict's order."""
    for case, seen in run_cases(kata, judged(drawn, device)):
        for name in FIELDS:
            if seen["report"][name] != sorted(seen["report"][name]):
                fail(f"report.{name} for {case.words()} is {seen['report'][name]}, which is not sorted: every list "
                     "of the report must be sorted.")


@given(drawn=batches(checkpoints({"need": ("ties",)}, {"force": ("keep",)}), 3, 5))
@examples(2)
def test_matching_keys_are_reported_loaded(kata, device, drawn):
    """Every key whose shape matches the model's, tied names included, is reported as loaded."""
    for case, seen in run_cases(kata, judged(drawn, device)):
        expect_field(seen, case, "loaded", LOADED)


@given(drawn=batches(checkpoints(plan_opts={"force": ("reshape",)}), 3, 5))
@examples(2)
def test_shape_mismatches_are_reported_mismatched(kata, device, drawn):
    """Keys in both with another shape (transposed, flattened, broadcastable, grown) are reported mismatched."""
    for case, seen in run_cases(kata, judged(drawn, device)):
        expect_field(seen, case, "mismatched", MISMATCHED)


@given(drawn=batches(checkpoints(plan_opts={"force": ("drop", "reshape")}), 3, 5))
@examples(2)
def test_keys_absent_from_the_state_dict_are_reported_missing(kata, device, drawn):
    """The model's keys that the checkpoint lacks are missing; reshaped ones are mismatched, not missing."""
    for case, seen in run_cases(kata, judged(drawn, device)):
        expect_field(seen, case, "missing", MISSING)


@given(drawn=batches(checkpoints(plan_opts={"extra": (1, 3)}), 2, 4))
@examples(2)
def test_keys_the_model_lacks_are_reported_unexpected(kata, device, drawn):
    """Checkpoint keys the model's state_dict lacks are reported as unexpected."""
    for case, seen in run_cases(kata, judged(drawn, device)):
        expect_field(seen, case, "unexpected", UNEXPECTED)


def _name_non_persistent(draw, desc, plan):
    plan["unexpected"] = [*plan["unexpected"], "scratch", "scaled._scratch"]


@given(drawn=batches(checkpoints({"need": ("non_persistent",)}, tweak=_name_non_persistent), 2, 4))
@examples(2)
def test_non_persistent_buffers_are_never_missing_nor_loaded(kata, device, drawn):
    """A non-persistent buffer is not in a state_dict: never missing, its name is unexpected, never loaded."""
    for case, seen in run_cases(kata, judged(drawn, device), ("non_persistent",)):
        for name in ("missing", "unexpected", "loaded"):
            expect_field(seen, case, name, NON_PERSISTENT)
        expect_non_persistent_kept(seen, case)


def expect_non_persistent_kept(seen, case):
    for name, value in case.non_persistent_before.items():
        assert_close(seen["non_persistent"].get(name), value,
                     f"the non-persistent buffer '{name}' after load_compatible on {case.words()}", rtol=0, atol=0,
                     why=NON_PERSISTENT)


SEED_LAYER = {"kind": "linear", "size": 4, "opts": {"bias": True}, "children": [], "params": [], "buffers": []}
SEED_MODEL = {"root": {"kind": "sequential", "size": 4, "opts": {}, "params": [], "buffers": [],
                       "children": [["0", SEED_LAYER], ["1", SEED_LAYER], ["2", SEED_LAYER]]},
              "ties": [], "frozen": [], "dtype": torch.float32}
SEED_PLAN = {"plan": {"0.weight": "keep", "0.bias": "keep", "1.weight": "reshape", "1.bias": "reshape",
                      "2.weight": "drop", "2.bias": "drop"},
             "shapes": {"1.weight": "transposed", "1.bias": "grown"}}


@given(drawn=batches(plans(_keys(SEED_MODEL), extra=(0, 0)), 1, 2))
@examples(2)
def test_the_seed_notebooks_example(kata, device, drawn):
    """The seed's 2-layer Sequential state_dict loaded into a 3-layer one: 0 loads, 1 mismatches, 2 is missing."""
    cases = [Case(SEED_MODEL, {**plan, **SEED_PLAN}, device) for plan in drawn]
    for case, seen in run_cases(kata, cases):
        for name, why in zip(FIELDS, (LOADED, MISMATCHED, MISSING, UNEXPECTED)):
            expect_field(seen, case, name, why)


# ------------------------------------------------------------------------------------------ specs: the values


@given(drawn=batches(checkpoints({"need": ("ties",)}, {"force": ("keep",)}), 3, 5))
@examples(2)
def test_matching_entries_are_copied_into_the_model(kata, device, drawn):
    """Loaded entries take the checkpoint's values, whatever the checkpoint tensors' memory layout."""
    for case, seen in run_cases(kata, judged(drawn, device), ("after",)):
        expect_state(seen["after"], case.after, case, "after loading", LOADED, keys=case.expected["loaded"])


@given(drawn=batches(checkpoints({"need": ("batchnorm", "buffers")}, {"actions": ("keep",), "extra": (0, 0)}), 2, 4))
@examples(2)
def test_buffers_load_too(kata, device, drawn):
    """BatchNorm's running_mean, running_var and num_batches_tracked, and user buffers, load like parameters."""
    why = "Persistent buffers (BatchNorm's running statistics, register_buffer) are in state_dict(): they load too."
    for case, seen in run_cases(kata, judged(drawn, device), ("after",)):
        expect_field(seen, case, "loaded", why)
        buffers = [k for k in case.expected["loaded"] if k.rpartition(".")[2] in ("running_mean", "running_var",
                                                                                 "num_batches_tracked", "gain",
                                                                                 "_running")]
        expect_state(seen["after"], case.after, case, "after loading", why, keys=buffers)


@given(drawn=batches(checkpoints(plan_opts={"force": ("reshape", "drop")}), 3, 5))
@examples(2)
def test_mismatched_and_missing_entries_keep_their_values(kata, device, drawn):
    """Skipped entries (mismatched, missing) and non-persistent buffers keep the values they had."""
    for case, seen in run_cases(kata, judged(drawn, device), ("after", "non_persistent")):
        untouched = sorted(set(case.expected["mismatched"]) | set(case.expected["missing"]))
        assert untouched, "the drawn checkpoint skips nothing"
        why = "A mismatched or missing entry is skipped: load_compatible touches nothing but the loaded entries."
        if any(k in case.tied for k in untouched):
            why += " " + TIED
        expect_state(seen["after"], case.after, case, "after loading", why + " " + EXACT, keys=untouched)
        expect_non_persistent_kept(seen, case)


def _broadcastable_bias(draw, desc, plan):
    plan["plan"]["stem.bias"], plan["shapes"]["stem.bias"] = "reshape", "broadcastable"


@given(drawn=batches(checkpoints(plan_opts={"reshapes": ("broadcastable",)}, tweak=_broadcastable_bias), 2, 4))
@examples(2)
def test_a_broadcastable_value_is_a_mismatch_not_a_copy(kata, device, drawn):
    """A (1,) or (1, 1) value does not fit a bigger tensor, even though copy_ could broadcast it."""
    for case, seen in run_cases(kata, judged(drawn, device), ("after",)):
        expect_field(seen, case, "mismatched", EXACT)
        expect_state(seen["after"], case.after, case, "after loading a broadcastable value", EXACT)


SAME_NUMEL = st.sampled_from(["transposed", "flattened"])


def _same_numel_weight(draw, desc, plan):
    plan["plan"]["stem.weight"] = "reshape"
    plan["shapes"]["stem.weight"] = draw(SAME_NUMEL)


@given(drawn=batches(checkpoints(plan_opts={"reshapes": ("transposed", "flattened")}, tweak=_same_numel_weight), 2, 4))
@examples(2)
def test_a_value_with_the_same_number_of_elements_is_a_mismatch(kata, device, drawn):
    """A transposed or flattened value holds as many elements as the model's tensor, but does not fit it."""
    for case, seen in run_cases(kata, judged(drawn, device), ("after",)):
        expect_field(seen, case, "mismatched", NUMEL)
        expect_state(seen["after"], case.after, case, "after loading a same-size value of another shape", NUMEL)


OTHER_DTYPES = {dtype: st.sampled_from([d for d in (torch.float32, torch.float64, torch.float16) if d != dtype])
                for dtype in DTYPES}


def _other_dtype(draw, desc, plan):
    plan["dtype"] = draw(OTHER_DTYPES[desc["dtype"]])


@given(drawn=batches(checkpoints({"dtypes": DTYPES}, {"force": ("keep",)}, tweak=_other_dtype), 3, 5))
@examples(2)
def test_values_are_cast_to_the_models_dtype(kata, device, drawn):
    """A checkpoint in another dtype loads into the model, whose tensors keep the model's dtype."""
    why = ("The copy must be cast to the model's dtype: " + COPY + " Rebinding (param.data = value) adopts the "
           "source's dtype.")
    for case, seen in run_cases(kata, judged(drawn, device), ("after",)):
        expect_state(seen["after"], case.after, case, "after loading a checkpoint in another dtype", why)


@given(drawn=batches(checkpoints(plan_opts={"force": ("keep",)}), 1, 3))
@examples(2)
def test_a_cpu_state_dict_loads_into_a_model_on_the_device(kata, device, drawn):
    """A checkpoint on the CPU loads into a model on the device, and the model stays on the device."""
    for case, seen in run_cases(kata, judged(drawn, device, source_device="cpu"), ("after",)):
        for key, value in seen["after"].items():
            if value.device.type != torch.device(device).type:
                fail(f"the model's '{key}' is on {value.device.type} after loading a CPU checkpoint ({case.words()});"
                     f" it must stay on {torch.device(device).type}. The copy must go to the model's device. {COPY}")
        expect_state(seen["after"], case.after, case, "after loading a CPU checkpoint", COPY)


@given(drawn=batches(checkpoints({"need": ("frozen", "ties")}, {"force": ("keep",)}), 2, 4))
@examples(2)
def test_parameters_are_updated_in_place(kata, device, drawn):
    """The model keeps its Parameter objects (an optimizer built before still trains it) and requires_grad flags."""
    for case, seen in run_cases(kata, judged(drawn, device), ("step_error", "after_step", "grads")):
        if seen["step_error"]:
            fail(f"an optimizer step on the model's Parameters failed after loading ({seen['step_error']}; "
                 f"{case.words()}): the model shares memory with the checkpoint's tensors instead of holding its "
                 f"own. {COPY}")
        expect_state(seen["after_step"], case.after_step, case, "after loading, then an optimizer step on the "
                     "Parameters held before loading",
                     "The step did not reach the model: it holds new Parameter objects. Load in place. " + COPY)
        if seen["grads"] != case.trainable:
            fail(f"after loading ({case.words()}), the parameters' requires_grad flags changed (backward reached a "
                 "frozen parameter, or missed a trainable one): loading values must not freeze or unfreeze "
                 "parameters.")


def _plain_checkpoint(draw, desc, plan):
    plan["layout"], plan["dtype"] = "contiguous", None


@given(drawn=batches(checkpoints(plan_opts={"force": ("keep",)}, tweak=_plain_checkpoint), 2, 4))
@examples(2)
def test_loaded_values_share_no_memory_with_the_source(kata, device, drawn):
    """Changing the checkpoint's tensors after loading does not change the model."""
    for case, seen in run_cases(kata, judged(drawn, device), ("after_source_change",)):
        expect_state(seen["after_source_change"], case.after, case, "after the checkpoint's tensors were changed",
                     "The model shares memory with the state_dict it loaded from. " + COPY)


MAPPINGS = st.sampled_from(["dict", "OrderedDict", "MappingProxyType"])


@given(drawn=batches(st.tuples(checkpoints(plan_opts={"force": ("keep", "reshape")}), MAPPINGS), 2, 4))
@examples(2)
def test_the_callers_state_dict_is_not_modified(kata, device, drawn):
    """The state_dict passed in (any Mapping) keeps all its keys, in order, and all its values."""
    cases = judged([pair for pair, _ in drawn], device)
    mappings = [mapping for _, mapping in drawn]
    why = "load_compatible modified the caller's state_dict: filter into a new dict, never delete from the input."
    seen_all = run_cases(kata, cases, ("source_keys", "source_values"), [{"mapping": mapping} for mapping in mappings])
    for (case, seen), mapping in zip(seen_all, mappings):
        (keys, keys_after), (values, values_after) = seen["source_keys"], seen["source_values"]
        if keys_after != keys:
            fail(f"the state_dict passed in (a {mapping}, {case.words()}) had keys {keys}, and {keys_after} after "
                 f"the call. {why}")
        for key, value in values.items():
            assert_close(values_after[key], value, f"the caller's state_dict['{key}'] after the call ({case.words()})",
                         rtol=0, atol=0, why=why)


@given(drawn=batches(st.tuples(checkpoints(plan_opts={"force": ("keep",)}), FLAG), 2, 4))
@examples(2)
def test_grad_mode_is_left_as_it_was(kata, device, drawn):
    """load_compatible works with grad mode on or under torch.no_grad(), and leaves it as it found it."""
    cases = judged([pair for pair, _ in drawn], device)
    flags = [no_grad for _, no_grad in drawn]
    seen_all = run_cases(kata, cases, ("grad_kept", "after"), [{"no_grad": flag} for flag in flags])
    for (case, seen), no_grad in zip(seen_all, flags):
        if not seen["grad_kept"]:
            fail(f"load_compatible on {case.words()} switched grad mode on or off: use `with torch.no_grad():`, "
                 "which restores it, never torch.set_grad_enabled(False) alone.")
        expect_state(seen["after"], case.after, case,
                     "after loading" + (" under torch.no_grad()" if no_grad else ""), COPY,
                     keys=case.expected["loaded"])


@given(drawn=batches(checkpoints({"need": ("batchnorm", "buffers")}, {"actions": ("keep",), "extra": (0, 0)}), 1, 3))
@examples(2)
def test_a_torch_save_and_load_round_trip_loads(kata, device, drawn):
    """A checkpoint saved with torch.save and read back with torch.load(weights_only=True) loads completely."""
    cases = judged(drawn, device)
    for case, seen in run_cases(kata, cases, ("after",), [{"via_file": True}] * len(cases)):
        expect_field(seen, case, "loaded", LOADED)
        expect_state(seen["after"], case.after, case, "after loading a torch.load()ed checkpoint", LOADED)
