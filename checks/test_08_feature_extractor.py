"""Kata 08: FeatureExtractor, forward hooks that record named layers.

Every spec is judged outside the learner's process. The judge draws a module tree as a plain
description (nested containers, private names, a layer shared under two names, layers kept in a
plain Python list, subclasses of built-in layers, layers without parameters, in-place ReLUs, layers
returning tuples, lists, namedtuples, torch.return_types and nn.LSTM's nested tuple) plus a script of
steps (construct, forward, get_features, remove_hooks, with-blocks, ...). A @probe builds the same
tree in the subject and plays the script with the learner's FeatureExtractor; the judge plays it on
its own copy with a reference extractor written below (clean torch: register_forward_hook,
named_modules(remove_duplicate=False), pytree), and compares the two logs. Each spec draws a batch of
such cases, played in one round trip; every message names the case that failed.

Contract clauses, and the specs that enforce them:

C1  A layer name is any dotted path model.named_modules(remove_duplicate=False) lists ("" is the model
    itself; private names like "_hidden" and ModuleList indices included); a layer shared under two
    paths answers to both, each name getting its own entry. Names come as a list or a tuple.
    -> features_are_the_outputs_of_the_named_layers, a_shared_layer_answers_to_every_name_it_is_reached_by
C2  An unknown name (a typo, an index out of range, a module kept in a plain Python list, a parameter's
    path) raises ValueError naming it, before any hook is registered: no hook is left on the model.
    -> unknown_name_raises_value_error_naming_it, unknown_name_leaves_no_hook_behind
C3  get_features() returns a NEW dict {name: feature} holding exactly the requested names whose layer
    has run (empty before any forward pass); later passes and changes to that dict do not alter it.
    -> feature_keys_are_the_names_whose_layers_ran, get_features_returns_a_new_dict_each_time
C4  A feature is the layer's OUTPUT (not its input) from the latest call, with its dtype, shape and
    device, also under torch.no_grad(); a layer called twice in one pass keeps its second output.
    -> features_are_the_outputs_of_the_named_layers, features_hold_the_latest_forward_pass
C5  Features are snapshots: detached (no autograd history; backward through them reaches nothing) and
    cloned (in-place changes made after the layer returned, by nn.ReLU(inplace=True) or by the caller,
    do not reach them).
    -> features_carry_no_autograd_history, features_are_snapshots_that_later_in_place_changes_miss
C6  A tuple, list or namedtuple output (also torch.return_types and nested ones such as nn.LSTM's
    (output, (h, c))) is recorded with the same structure and container types, tensors detached,
    non-tensor elements (None, numbers) kept.   -> tuple_list_and_namedtuple_outputs_keep_their_structure
C7  The hooks return None: the model's output and every gradient are what they are without them.
    -> extraction_leaves_the_output_and_the_gradients_unchanged
C8  remove_hooks() removes exactly this extractor's hooks (no hook of its own left, anyone else's kept),
    keeps the features recorded so far, and may be called twice; two extractors on one model can be
    removed in either order.
    -> remove_hooks_stops_recording_and_keeps_the_features, remove_hooks_can_be_called_twice,
       remove_hooks_leaves_other_hooks_alone, two_extractors_on_one_model_can_be_removed_in_either_order
C9  All state lives on the instance: extractors on two models do not see each other's features.
    -> two_extractors_on_two_models_keep_separate_features
C10 `with FeatureExtractor(...) as fx`: fx is the extractor; leaving the block removes the hooks (also
    when the body raises, KeyboardInterrupt included), never swallows the exception, keeps the features.
    -> with_statement_binds_the_extractor_and_removes_the_hooks_on_leaving,
       an_exception_in_the_with_block_propagates_and_removes_the_hooks
"""

import collections
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn.modules import module as module_globals
from torch.utils._pytree import tree_map

from kata_runner import wire
from kata_runner.asserts import assert_close, assert_keys, each, fail
from kata_runner.draw import LAYOUTS, TensorSpec, batches, examples, given, st
from kata_runner.probing import outcome, probe

OUTPUT = "A feature is the layer's output, the third argument of hook(module, inputs, output), not its input."
RETURN_NONE = (
    "A forward hook that returns a value replaces the layer's output (a detached copy cuts the autograd "
    "graph there): the hook must return None."
)
DETACH = "Store output.detach().clone(): a feature with history keeps the whole autograd graph alive."
CLONE = (
    "Store output.detach().clone(): detach() alone shares memory with the output, so an in-place operation "
    "after the layer (nn.ReLU(inplace=True), the caller's out.mul_()) rewrites the stored feature."
)
STRUCTURE = (
    "When a layer returns a tuple, list or namedtuple (nested or not), detach its elements one by one and keep "
    "the container's type: a namedtuple must stay that namedtuple (rebuild it with type(out)(*items)), so its "
    "fields still read by name."
)
SHARED = (
    "named_modules() lists a shared module once, under its first path; a layer reached by two names answers to "
    "both: look names up with named_modules(remove_duplicate=False) (or get_submodule), and give each name its "
    "own entry (a module -> name dict keeps only one)."
)
SEPARATE = ("state is shared between instances (a class attribute?). Create the features dict and the handle "
            "list in __init__.")
ORDER = ("remove_hooks() on one extractor must leave another extractor's hooks on the same layers in place, "
         "whichever was created first: remove exactly the handles you registered.")


# ------------------------------------------------------------------------------------------ model trees
# A tree is a plain description (nested lists); `build` turns it into modules, the same in the judge and in
# the subject. Every parameter is filled from a generator seeded by the description, at creation.


Pair = collections.namedtuple("Pair", "main aux")


class Both(NamedTuple):
    first: torch.Tensor
    second: torch.Tensor


class SubLinear(nn.Linear):
    """A subclass of a built-in layer: its hooks are nn.Module's."""


class SubLayerNorm(nn.LayerNorm):
    pass


class SubSequential(nn.Sequential):
    pass


class Holder(nn.Module):
    """Children registered by setattr under drawn names (some private), applied in order."""

    def __init__(self, children):
        super().__init__()
        self.order = [name for name, _ in children]
        for name, child in children:
            setattr(self, name, child)

    def forward(self, x):
        for name in self.order:
            x = getattr(self, name)(x)
        return x


class Chain(nn.Module):
    def __init__(self, children):
        super().__init__()
        self.layers = nn.ModuleList(children)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Plain(nn.Module):
    """`inner` is registered; `extra` is a plain Python list, invisible to named_modules()."""

    def __init__(self, inner, extra):
        super().__init__()
        self.inner = inner
        self.extra = [extra]

    def forward(self, x):
        return self.extra[0](self.inner(x))


class Tied(nn.Module):
    """One module reached by two names, `a` and `b`, and called twice."""

    def __init__(self, child):
        super().__init__()
        self.a = child
        self.b = child

    def forward(self, x):
        return self.b(self.a(x))


class Body(nn.Module):
    """A layer whose output is a structure, not a tensor."""

    def __init__(self, style, width, **factory):
        super().__init__()
        self.style = style
        self.linear = nn.Linear(width, width, **factory)

    def forward(self, x):
        y = self.linear(x)
        if self.style == "tuple":
            return y, y.tanh()
        if self.style == "list":
            return [y, y * 2]
        if self.style == "namedtuple":
            return Pair(y, -y)
        if self.style == "typed":
            return Both(first=y.sigmoid(), second=y)
        if self.style == "structseq":
            return torch.max(y, dim=-1, keepdim=True)
        if self.style == "none":
            return y, None, 2  # non-tensor elements are kept as they are
        return y, [y.tanh(), (y * 3,)]  # nested


def _leaves(value):
    """The tensors in a (nested) tuple/list, in order; a tensor is its own only leaf."""
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if torch.is_tensor(value) else []


class Multi(nn.Module):
    """Wraps a structured-output layer (`body`) and merges its output back into one tensor."""

    def __init__(self, style, width, **factory):
        super().__init__()
        self.style = style
        if style == "lstm":
            self.body = nn.LSTM(width, width, batch_first=True, **factory)
        else:
            self.body = Body(style, width, **factory)

    def forward(self, x):
        if self.style == "lstm":
            out, _ = self.body(x.reshape(-1, 1, x.shape[-1]))
            return out.reshape(x.shape)
        total = None
        for leaf in _leaves(self.body(x)):
            if leaf.is_floating_point():
                total = leaf if total is None else total + leaf
        return total + torch.zeros_like(x)


def build(desc, width, device, dtype, seed):
    """The model a description stands for, with every parameter drawn from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    factory = {"device": device, "dtype": dtype}

    def filled(module):
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) * 0.5)
        return module

    def make(node, d):
        kind = node[0]
        if kind == "linear":
            cls = SubLinear if node[3] else nn.Linear
            return filled(cls(d, node[1], bias=node[2], **factory)), node[1]
        if kind == "linear_relu_":
            return nn.Sequential(filled(nn.Linear(d, node[1], bias=node[2], **factory)), nn.ReLU(inplace=True)), node[1]
        if kind == "norm":
            return filled((SubLayerNorm if node[1] else nn.LayerNorm)(d, **factory)), d
        if kind == "act":
            return {"relu": nn.ReLU, "tanh": nn.Tanh, "identity": nn.Identity, "gelu": nn.GELU}[node[1]](), d
        if kind in ("seq", "subseq", "mlist"):
            children = []
            for child in node[1]:
                module, d = make(child, d)
                children.append(module)
            return {"seq": nn.Sequential, "subseq": SubSequential}.get(kind, lambda *c: Chain(list(c)))(*children), d
        if kind == "holder":
            children = []
            for name, child in node[1]:
                module, d = make(child, d)
                children.append((name, module))
            return Holder(children), d
        if kind == "plain":
            inner, d = make(node[1], d)
            return Plain(inner, filled(nn.Linear(d, d, **factory))), d
        if kind == "tied":
            child, d2 = make(node[1], d)
            assert d2 == d
            return Tied(child), d
        if kind == "multi":
            return filled(Multi(node[1], d, **factory)), d
        raise ValueError(f"unknown node {node!r}")

    return make(desc, width)[0]


# ------------------------------------------------------------------------------------------ the script
# One interpreter plays a script on models with some extractor class: the learner's in the subject, the
# reference below in the judge. Each step appends one record to the log.


def hook_count(model):
    """Every module and global forward/backward hook on the model's modules."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    count = sum(len(getattr(m, kind, None) or {}) for m in model.modules() for kind in kinds)
    count += sum(len(getattr(module_globals, "_global" + kind, None) or {}) for kind in kinds)
    return count


def _layout(value):
    if torch.is_tensor(value):
        return "tensor"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        kind = type(value)
        fields = getattr(value, "_fields", None)
        return {"type": f"{kind.__module__}.{kind.__qualname__}", "fields": list(fields) if fields else None,
                "items": [_layout(v) for v in value]}
    return {"type": f"{type(value).__module__}.{type(value).__qualname__}", "other": True}


def _encode(features):
    """What a get_features() result looks like, in plain types."""
    if not isinstance(features, dict):
        return {"not_dict": type(features).__name__}
    return {"keys": [str(k) for k in features],
            "items": {str(k): {"layout": _layout(v), "leaves": _leaves(v)} for k, v in features.items()}}


class BodyError(Exception):
    pass


def play(models, script, factory):
    """Play `script` on `models`, making extractors with factory(model, names); return the log."""
    state = {"fx": {}, "held": {}, "out": {}, "x": {}, "foreign": {}}
    log, failed = [], False
    for step in script:
        if failed and step[0] != "hooks":
            break  # a construction failed: the spec judges the exception; only counting hooks still makes sense
        log.append(_step(models, step, factory, state))
        failed = failed or (step[0] == "try_make" and log[-1]["raised"] is not None)
    return log


def _step(models, step, factory, state):
    kind = step[0]
    if kind == "make":  # ["make", k, m, names, container]: an exception is the learner's error
        _, k, m, names, container = step
        state["fx"][k] = factory(models[m], tuple(names) if container == "tuple" else list(names))
        return {}
    if kind == "try_make":  # the same, recording the exception for the spec to judge
        _, k, m, names, container = step
        res = outcome(factory, models[m], tuple(names) if container == "tuple" else list(names))
        raised = res["raised"]
        if raised is None:
            state["fx"][k] = res["value"]
        return {"raised": raised}
    if kind == "forward":  # ["forward", m, x, no_grad]
        _, m, x, no_grad = step
        x = x.detach().requires_grad_(not no_grad)  # a new leaf, with x's layout
        with torch.set_grad_enabled(not no_grad):
            out = models[m](x)
        state["out"][m], state["x"][m] = out, x
        return {"out": out.detach().clone(), "requires_grad": out.requires_grad}
    if kind == "inplace":  # ["inplace", m]: the caller changes the model's output in place
        with torch.no_grad():
            state["out"][step[1]].mul_(-3).add_(1)
        return {}
    if kind == "get":  # ["get", k, slot]
        features = state["fx"][step[1]].get_features()
        state["held"][step[2]] = features
        return _encode(features)
    if kind == "show":  # ["show", slot]
        return _encode(state["held"][step[1]])
    if kind == "clear":  # ["clear", slot]: the caller empties a dict get_features() returned
        held = state["held"][step[1]]
        if isinstance(held, dict):
            held.clear()
        return {}
    if kind == "remove":  # ["remove", k]
        state["fx"][step[1]].remove_hooks()
        return {}
    if kind == "hooks":  # ["hooks", m]
        return {"hooks": hook_count(models[step[1]])}
    if kind == "foreign":  # ["foreign", m, name]: someone else's hook, which counts its calls
        calls = state["foreign"].setdefault(step[2], [])
        models[step[1]].get_submodule(step[2]).register_forward_hook(lambda mod, inp, out: calls.append(1))
        return {}
    if kind == "foreign_calls":
        return {"calls": {name: len(calls) for name, calls in state["foreign"].items()}}
    if kind == "backward":  # ["backward", m, k or None, seed]: loss from the output (+ every feature of k)
        _, m, k, seed = step
        out, x = state["out"][m], state["x"][m]
        g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        loss = (out * g.to(out)).sum()
        if k is not None:
            features = state["fx"][k].get_features()
            for value in (features.values() if isinstance(features, dict) else ()):
                for leaf in _leaves(value):
                    if leaf.is_floating_point():
                        loss = loss + 0.5 * leaf.sum()
        loss.backward()
        grads = {name: p.grad for name, p in models[m].named_parameters()}
        return {"grads": grads, "x": x.grad}
    if kind == "with":  # ["with", k, m, names, body, raise_kind]
        _, k, m, names, body, raise_kind = step
        fx = factory(models[m], list(names))
        state["fx"][k] = fx
        record = {"propagated": None}
        try:
            with fx as bound:
                record["bound_is_fx"] = bound is fx
                record["body"] = [_step(models, inner, factory, state) for inner in body]
                if raise_kind == "error":
                    raise BodyError("raised inside the with-block")
                if raise_kind == "interrupt":
                    raise KeyboardInterrupt
            record["propagated"] = False
        except (BodyError, KeyboardInterrupt):
            record["propagated"] = True
        return record
    raise ValueError(f"unknown step {step!r}")


class Reference:
    """The judge's extractor: what the contract asks for, with clean torch."""

    def __init__(self, model, names):
        modules = dict(model.named_modules(remove_duplicate=False))
        unknown = [n for n in names if n not in modules]
        if unknown:
            raise ValueError(f"unknown layer names {unknown}")
        self.features, self.inputs, self.raw = {}, {}, {}
        self.handles = [modules[n].register_forward_hook(partial(self._hook, n)) for n in names]

    def _hook(self, name, module, inputs, output):
        self.features[name] = tree_map(lambda t: t.detach().clone() if torch.is_tensor(t) else t, output)
        self.raw[name] = tree_map(lambda t: t.detach() if torch.is_tensor(t) else t, output)
        self.inputs[name] = inputs[0].detach().clone() if inputs and torch.is_tensor(inputs[0]) else None

    def get_features(self):
        return dict(self.features)

    def remove_hooks(self):
        for handle in self.handles:
            handle.remove()
        self.handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove_hooks()


# ------------------------------------------------------------------------------------------ probes
# This runs in the subject, next to the learner's code. It observes; the specs below decide. It takes a
# batch of jobs (trees and a script each), so that one round trip judges several drawn cases.

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
def run_scripts(impl, jobs):
    """The log of each (trees, script) played with the learner's FeatureExtractor."""
    return observe_each(jobs, lambda job: play([build(*tree) for tree in job[0]], job[1], impl.FeatureExtractor))


# ------------------------------------------------------------------------------------------ inputs
# Constant strategies are built once, here: a strategy built inside a composite costs its validation on
# every draw.


NAMES = ["_hidden", "_1", "body", "proj", "layer_2", "block", "_tail"]
DTYPES = (torch.float32, torch.float64)


@dataclass(frozen=True)
class Tree:
    desc: list
    width: int
    dtype: torch.dtype
    seed: int

    def args(self, device):
        return [self.desc, self.width, device, self.dtype, self.seed]

    def model(self, device):
        return build(self.desc, self.width, device, self.dtype, self.seed)

    @cached_property
    def inspected(self):
        """A CPU copy for reading names and classes (which running it does not change)."""
        return self.model("cpu")

    def fresh(self, device):
        """A model no script has run on yet: the inspected CPU copy the first time, when it fits, else a new one."""
        if torch.device(device).type == "cpu" and not self.__dict__.get("played"):
            self.__dict__["played"] = True
            return self.inspected
        return self.model(device)

    @cached_property
    def names(self):
        return [n for n, _ in self.inspected.named_modules(remove_duplicate=False)]

    @cached_property
    def description(self):
        text = repr(self.desc)
        found = [words for key, words in FEATURES.items() if key in text]
        if any(type(m) in (SubLinear, SubLayerNorm, SubSequential) for m in self.inspected.modules()):
            found.append("subclassed built-in layers")
        kinds = f" with {', '.join(found)}" if found else ""
        return f"a {str(self.dtype).removeprefix('torch.')} model of {len(self.names)} named modules{kinds}"

    def describe(self):
        """The tree in words: `a float32 model of 9 named modules with private names, an in-place ReLU`."""
        return self.description


FEATURES = {
    "'tied'": "a layer shared under two names",
    "'_": "private names",
    "'plain'": "a layer kept in a plain Python list",
    "'linear_relu_'": "an in-place ReLU",
    "'namedtuple'": "a namedtuple output",
    "'typed'": "a typing.NamedTuple output",
    "'structseq'": "a torch.return_types output",
    "'lstm'": "an nn.LSTM",
    "'nested'": "a nested tuple/list output",
}
STYLES = ("tuple", "list", "namedtuple", "typed", "structseq", "none", "nested", "lstm")

BOOLS = st.booleans()
CONTAINERS = st.sampled_from(["list", "tuple"])
WIDTHS = st.integers(1, 5)
OUT_WIDTHS = st.integers(1, 6)
CHILD_COUNTS = st.integers(1, 3)
EXTRA_CHILDREN = st.integers(0, 3)
ACTIVATIONS = st.sampled_from(["relu", "tanh", "identity", "gelu"])
MULTI_STYLES = st.sampled_from(STYLES)
STYLE_ORDERS = st.permutations(STYLES)
TREE_DTYPES = st.sampled_from(DTYPES)
SEEDS = st.integers(0, 2**16)
ROOTS = {True: st.sampled_from(["seq", "subseq", "holder"]), False: st.sampled_from(["seq", "subseq"])}
HOLDER_NAMES = {n: st.lists(st.sampled_from(NAMES), min_size=n, max_size=n, unique=True)
                for n in range(1, len(NAMES) + 1)}
LEADING = st.lists(st.integers(1, 5), max_size=3)
LAYOUT_CHOICES = {}  # filled by _layouts(), one strategy per set of layouts
INDICES = st.integers(0, 255)
PICK_COUNTS = {(low, high): st.integers(low, high) for low, high in [(0, 2), (1, 1), (1, 3), (1, 4), (1, 6)]}


def _node_kinds(deep, keep_width):
    leaf_kinds = ["linear", "linear", "norm", "act"] + ([] if keep_width else ["linear_relu_"])
    kinds = leaf_kinds + (["seq", "holder", "mlist", "plain", "tied", "multi"] if deep else [])
    if keep_width:
        kinds = [k for k in kinds if k not in ("linear_relu_", "plain", "seq", "holder", "mlist")]
    return st.sampled_from(kinds)


NODE_KINDS = {(deep, keep): _node_kinds(deep, keep) for deep in (False, True) for keep in (False, True)}


def node(draw, d, depth, keep_width=False):
    """(node, out_width): a subtree taking width d."""
    kind = draw(NODE_KINDS[depth > 0, keep_width])
    if kind in ("linear", "linear_relu_"):
        out = d if keep_width else draw(OUT_WIDTHS)
        desc = [kind, out, draw(BOOLS)] + ([draw(BOOLS)] if kind == "linear" else [])
        return desc, out
    if kind == "norm":
        return ["norm", draw(BOOLS)], d
    if kind == "act":
        return ["act", draw(ACTIVATIONS)], d
    if kind == "tied":
        child, _ = node(draw, d, 0, keep_width=True)
        return ["tied", child], d
    if kind == "multi":
        return ["multi", draw(MULTI_STYLES)], d
    if kind == "plain":
        child, d = node(draw, d, depth - 1)
        return ["plain", child], d
    children = []
    for _ in range(draw(CHILD_COUNTS)):
        child, d = node(draw, d, depth - 1)
        children.append(child)
    if kind == "holder":
        names = draw(HOLDER_NAMES[len(children)])
        return ["holder", [[n, c] for n, c in zip(names, children)]], d
    return [kind, children], d


def tree(draw, must=()):
    """A Tree whose root is a Sequential, a subclass of it, or a Holder; `must` nodes are included."""
    width = draw(WIDTHS)
    out = draw(WIDTHS)
    d = out
    children = [["linear", out, draw(BOOLS), draw(BOOLS)]]  # at least one parameter
    for kind, param in must:
        pre, d = node(draw, d, 1)
        forced_node, d = forced(draw, kind, param, d)
        children += [pre, forced_node]
    for _ in range(draw(EXTRA_CHILDREN)):
        child, d = node(draw, d, 2)
        children.append(child)
    root = draw(ROOTS[len(children) <= len(NAMES)])
    if root == "holder":
        names = draw(HOLDER_NAMES[len(children)])
        desc = ["holder", [[n, c] for n, c in zip(names, children)]]
    else:
        desc = [root, children]
    return Tree(desc, width, draw(TREE_DTYPES), draw(SEEDS))


def forced(draw, kind, param, d):
    """A node of this kind at width d: ("tied", None), ("linear_relu_", out), ("plain", None), ("multi", style)."""
    if kind == "tied":
        child, _ = node(draw, d, 0, keep_width=True)
        return ["tied", child], d
    if kind == "linear_relu_":
        return ["linear_relu_", param, draw(BOOLS)], param
    if kind == "plain":
        child, d = node(draw, d, 1)
        return ["plain", child], d
    return ["multi", param], d


def inputs(draw, tree_, count=1):
    """`count` input specs of shape (*leading, width) in the tree's dtype, in any layout that fits, with different
    values (distinct seeds): what draw.tensors((width,)) draws, from strategies built once."""
    specs = []
    for i in range(count):
        shape = (*draw(LEADING), tree_.width)
        specs.append(TensorSpec(shape, tree_.dtype, draw(_layouts(shape)), draw(SEEDS) * count + i))
    return specs


def _layouts(shape):
    """A strategy for the layouts draw.tensors allows for this shape."""
    fits = {"contiguous": True, "transposed": len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1,
            "sliced": shape[-1] > 0, "expanded": len(shape) >= 2 and shape[0] > 1}
    allowed = tuple(layout for layout in LAYOUTS if fits[layout])
    if allowed not in LAYOUT_CHOICES:
        LAYOUT_CHOICES[allowed] = st.sampled_from(allowed)
    return LAYOUT_CHOICES[allowed]


def pick(draw, options, low, high):
    """Between `low` and `high` distinct items of `options` (fewer if there are not as many), in a drawn order:
    st.lists(st.sampled_from(options), unique=True), without building a strategy on every draw."""
    left = list(options)
    chosen = []
    for _ in range(min(draw(PICK_COUNTS[low, high]), len(left))):
        chosen.append(left.pop(draw(INDICES) % len(left)))
    return chosen


def case(draw, must=(), picks=(1, 6), root=True, count=1):
    """(tree, names, [x specs]): a drawn tree, some of its names, `count` inputs for it."""
    tree_ = tree(draw, must)
    names = pick(draw, [n for n in tree_.names if root or n], *picks)
    return tree_, names, inputs(draw, tree_, count)


@st.composite
def cases(draw, must=(), picks=(1, 6), root=True, count=1):
    return case(draw, must, picks, root, count)


@st.composite
def structured_cases(draw):
    """A case whose tree holds a layer of every structured-output style, in a drawn order."""
    return case(draw, must=[("multi", s) for s in draw(STYLE_ORDERS)], picks=(0, 2))


@st.composite
def bad_names(draw):
    """(tree, good names, one name that is not in named_modules())."""
    tree_ = tree(draw, must=[("plain", None)])
    valid = tree_.names
    model = tree_.inspected
    plain = [n for n, m in model.named_modules() if isinstance(m, Plain)][0]
    seq = [n for n, m in model.named_modules() if isinstance(m, (nn.Sequential, Chain))]
    candidates = [f"{plain}.extra.0".lstrip("."), f"{plain}.extra".lstrip("."), f"{plain}.inner.weight".lstrip("."),
                  f"{valid[-1]}.nope".lstrip("."), "nope", f"{plain}.".lstrip(".") + "inner.", "9"]
    candidates += [f"{n}.9".lstrip(".") for n in seq] + [f"{n}.layers.7".lstrip(".") for n in seq]
    (bad,) = pick(draw, [c for c in candidates if c not in valid], 1, 1)
    good = pick(draw, valid, 1, 3)
    return tree_, good, bad


@st.composite
def two_on_one(draw):
    tree_, names, xs = case(draw, picks=(1, 3), count=3)
    others = pick(draw, tree_.names, 0, 2)
    return tree_, names, xs, others


CASES = cases()
CASES_TWO_INPUTS = cases(count=2)


def paths_of(tree_, node_kind, suffix=""):
    """Names of the modules built from nodes of `node_kind` (found by class in the judge's copy)."""
    classes = {"tied": Tied, "multi": Multi, "plain": Plain}
    model = tree_.inspected
    if node_kind == "linear_relu_":
        return [f"{n}.0".lstrip(".") for n, m in model.named_modules()
                if isinstance(m, nn.Sequential) and len(m) == 2 and isinstance(m[1], nn.ReLU) and m[1].inplace]
    return [f"{n}{suffix}".lstrip(".") if n else suffix.lstrip(".")
            for n, m in model.named_modules() if type(m) is classes[node_kind]]


# ------------------------------------------------------------------------------------------ judging


@dataclass
class Job:
    """One drawn case of a spec: the trees, the script played on them, and what it does in words (naming the
    case), which an error raised by the learner's code reports."""

    trees: list
    script: list
    doing: str
    case: Any = None


def play_all(kata, device, jobs, why="", judge=True):
    """[(job, the learner's log, the reference's log)] for a batch of jobs, in one round trip (the reference's
    log is None unless `judge`)."""
    logs = _learner_logs(kata, device, jobs, why)
    return [(job, got, play([t.fresh(device) for t in job.trees], job.script, Reference) if judge else None)
            for job, got in each(jobs, logs, "the logs of the drawn cases")]


def _learner_logs(kata, device, jobs, why):
    sent = [([t.args(device) for t in job.trees], job.script) for job in jobs]
    return _observed(kata, run_scripts, sent, [job.doing for job in jobs], why)


def _observed(kata, probe_, sent, doings, why):
    """What the subject observed for a batch, in one round trip; when the learner's code raised in one case, that
    case runs again alone, so that the error names it (doings[i])."""
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


def check_features(got, want, where, why=OUTPUT, reference=None):
    """got/want: encoded get_features() results. Fails with a message naming the concept."""
    if "not_dict" in got:
        fail(f"get_features() {where} should return a dict {{layer name: output}}, got {got['not_dict']}.")
    assert_keys(got["keys"], want["keys"], f"get_features() keys {where}", why=why)
    for name in want["keys"]:
        g, w = got["items"][name], want["items"][name]
        label = f"get_features()[{name!r}] {where}"
        if g["layout"] != w["layout"]:
            fail(f"{label} has the structure {_words(g['layout'])}, but the layer returned "
                 f"{_words(w['layout'])}. {STRUCTURE}")
        for i, (a, b) in enumerate(zip(g["leaves"], w["leaves"], strict=True)):
            part = label if w["layout"] == "tensor" else f"{label}, tensor {i}"
            try:
                report = wire.info(a)
            except wire.WireError:
                report = None
            if report is not None and (report.requires_grad or report.has_grad_fn):
                fail(f"{part} carries autograd history (grad_fn={report.grad_fn or None}). {DETACH}")
            if reference is not None and not _close(a, b):
                _diagnose(a, name, i, part, reference)
            assert_close(a, b, part, why=why)


def _close(a, b):
    """Loosely equal (for diagnostics only)."""
    if not torch.is_tensor(a) or not torch.is_tensor(b) or a.shape != b.shape or a.device != b.device:
        return False
    return torch.allclose(a.detach().double(), b.detach().double(), rtol=1e-4, atol=1e-5)


def _diagnose(a, name, i, part, reference):
    """Name the mistake when a feature is the layer's input, or its output as later changed in place."""
    fx = reference()
    layer_input = fx.inputs.get(name)
    if torch.is_tensor(fx.features.get(name)) and _close(a, layer_input):
        fail(f"{part} is the layer's input, not its output. {OUTPUT}")
    raw = _leaves(fx.raw.get(name))
    if i < len(raw) and _close(a, raw[i]):
        fail(f"{part} was changed by an in-place operation made after the layer returned. {CLONE}")


def _words(layout):
    if layout == "tensor":
        return "a tensor"
    if isinstance(layout, dict) and "items" in layout:
        name = layout["type"].removeprefix("builtins.")
        kind = "a namedtuple " if layout["fields"] else "a "
        return f"{kind}{name} of [{', '.join(_words(i) for i in layout['items'])}]"
    if isinstance(layout, dict):
        return f"a {layout['type']}"
    return str(layout)


def reference_with_diagnostics(trees_, device, script, k):
    """A callable that plays the script again in the judge and returns its extractor number k (for the
    inputs and the raw, later changed, outputs it saw); played only when a feature is wrong."""

    def replay():
        made = []

        def factory(model, names):
            made.append(Reference(model, names))
            return made[-1]

        play([t.model(device) for t in trees_], script, factory)
        return made[k]

    return replay


def describe_names(names):
    return "[" + ", ".join(repr(n) for n in names) + "]"


def _check_grads(got, want, where, why):
    if not want["grads"]:
        fail("internal: the drawn tree has no parameters.")
    assert_keys(got["grads"], want["grads"].keys(), "named_parameters()")
    for name, grad in want["grads"].items():
        if got["grads"][name] is None and grad is not None:
            fail(f"parameter {name!r} got no gradient {where}. {why}")
        if grad is not None:
            assert_close(got["grads"][name], grad, f"{name}.grad {where}", why=why)
    if want["x"] is not None:
        if got["x"] is None:
            fail(f"the input got no gradient {where}. {why}")
        assert_close(got["x"], want["x"], f"the input's gradient {where}", why=why)


# ------------------------------------------------------------------------------------------ specs
# Each spec draws a batch of cases (`batches`) and judges them with one round trip; every message names the
# case that failed (its tree in words, the names asked for, the input).


@given(drawn=batches(st.tuples(CASES, CONTAINERS, BOOLS)))
@examples(3)
def test_features_are_the_outputs_of_the_named_layers(kata, device, drawn):
    """After a forward pass, get_features() holds each named layer's output, for any tree and any of its names."""
    jobs = []
    for (tree_, names, xs), container, no_grad in drawn:
        script = [["try_make", 0, 0, names, container], ["forward", 0, xs[0].make(device), no_grad], ["get", 0, "a"]]
        jobs.append(Job([tree_], script, f"FeatureExtractor(model, {describe_names(names)}) and a forward pass of "
                        f"{tree_.describe()}", ((tree_, names, xs), container, no_grad)))
    for job, got, want in play_all(kata, device, jobs, why=STRUCTURE):
        (tree_, names, xs), container, no_grad = job.case
        if got[0]["raised"]:
            fail(f"FeatureExtractor(model, {describe_names(names)}) raised {got[0]['raised']['type']}: "
                 f"{got[0]['raised']['message'][:200]}, on {tree_.describe()}; every name is listed by "
                 f"named_modules(remove_duplicate=False). {SHARED if 'tied' in repr(tree_.desc) else ''}")
        where = (f"after a forward pass{' under torch.no_grad()' if no_grad else ''} of {tree_.describe()} on "
                 f"{xs[0].describe()}, names {describe_names(names)} given as a {container}")
        check_features(got[2], want[2], where, reference=reference_with_diagnostics([tree_], device, job.script, 0))


@given(drawn=batches(st.tuples(CASES, CONTAINERS)))
@examples(3)
def test_feature_keys_are_the_names_whose_layers_ran(kata, device, drawn):
    """get_features() is empty before any forward pass and keyed by exactly the requested names after one."""
    jobs = [Job([tree_], [["make", 0, 0, names, container], ["get", 0, "a"], ["forward", 0, xs[0].make(device), False],
                          ["get", 0, "b"]],
                f"FeatureExtractor(model, {describe_names(names)}) and get_features() on {tree_.describe()}", tree_)
            for (tree_, names, xs), container in drawn]
    for job, got, want in play_all(kata, device, jobs, why=STRUCTURE):
        tree_ = job.case
        if "not_dict" in got[1]:
            fail(f"get_features() before any forward pass should return a dict, got {got[1]['not_dict']}.")
        if got[1]["keys"]:
            fail(f"get_features() before any forward pass should be empty: a layer that has not run yet has no "
                 f"entry (found {got[1]['keys']}, on {tree_.describe()}).")
        check_features(got[3], want[3], f"after a forward pass of {tree_.describe()}",
                       why="Key each feature by the dotted name the caller asked for.")


@given(drawn=batches(st.tuples(cases(must=[("tied", None)]), BOOLS)))
@examples(3)
def test_a_shared_layer_answers_to_every_name_it_is_reached_by(kata, device, drawn):
    """A module reached under two names (model.x.a is model.x.b) records under both names."""
    jobs = []
    for (tree_, names, xs), order in drawn:
        tied = paths_of(tree_, "tied")
        if not tied:
            fail("internal: the drawn tree has no shared layer.")
        aliases = [f"{tied[0]}.a".lstrip("."), f"{tied[0]}.b".lstrip(".")]
        if order:
            aliases.reverse()
        names = aliases + [n for n in names if n not in aliases][:2]
        script = [["try_make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False], ["get", 0, "a"]]
        jobs.append(Job([tree_], script, f"FeatureExtractor(model, {describe_names(names)}) on {tree_.describe()}",
                        (tree_, names, aliases)))
    for job, got, want in play_all(kata, device, jobs):
        tree_, names, aliases = job.case
        if got[0]["raised"]:
            fail(f"FeatureExtractor(model, {describe_names(names)}) raised {got[0]['raised']['type']} on "
                 f"{tree_.describe()}, although {aliases[0]!r} and {aliases[1]!r} both reach the shared layer. "
                 f"{SHARED}")
        check_features(got[2], want[2], f"for {describe_names(names)} on {tree_.describe()}", why=SHARED)


@given(drawn=batches(bad_names()))
@examples(3)
def test_unknown_name_raises_value_error_naming_it(kata, device, drawn):
    """An unknown layer name raises ValueError naming it, not a bare AttributeError or IndexError."""
    jobs = [Job([tree_], [["try_make", 0, 0, good + [bad], "list"]],
                f"FeatureExtractor(model, {describe_names(good + [bad])}) on {tree_.describe()}",
                (tree_, good + [bad], bad))
            for tree_, good, bad in drawn]
    for job, got, _ in play_all(kata, device, jobs, judge=False):
        tree_, names, bad = job.case
        raised = got[0]["raised"]
        if raised is None:
            fail(f"FeatureExtractor(model, {describe_names(names)}) raised nothing on {tree_.describe()}, although "
                 f"{bad!r} is not in named_modules(): an unknown layer name must raise ValueError naming it.")
        if "ValueError" not in raised["types"]:
            fail(f"FeatureExtractor(model, {describe_names(names)}) raised {raised['type']}: "
                 f"{raised['message'][:200]}; an unknown layer name must raise ValueError naming it. Look names up "
                 "in dict(model.named_modules(remove_duplicate=False)), don't walk the model.")
        if bad not in raised["message"]:
            fail(f"the ValueError for the unknown name {bad!r} should name it; its message was "
                 f"{raised['message']!r}.")


@given(drawn=batches(bad_names()))
@examples(2)
def test_unknown_name_leaves_no_hook_behind(kata, device, drawn):
    """A bad name after good ones leaves no hook on the model: names are validated before any hook is registered."""
    jobs = [Job([tree_], [["hooks", 0], ["try_make", 0, 0, good + [bad], "list"], ["hooks", 0]],
                f"FeatureExtractor(model, {describe_names(good + [bad])}) on {tree_.describe()}",
                (tree_, good + [bad], bad))
            for tree_, good, bad in drawn]
    for job, got, _ in play_all(kata, device, jobs, judge=False):
        tree_, names, bad = job.case
        if got[1]["raised"] is None:
            fail(f"FeatureExtractor(model, {describe_names(names)}) raised nothing, although {bad!r} is not in "
                 "named_modules(): an unknown layer name must raise ValueError naming it.")
        left = got[2]["hooks"] - got[0]["hooks"]
        if left:
            fail(f"a failed FeatureExtractor(model, {describe_names(names)}) left {left} hook(s) registered on "
                 f"{tree_.describe()}, and nothing can remove them: validate every name before registering any "
                 "hook.")


@given(drawn=batches(cases(picks=(1, 4))))
@examples(3)
def test_features_carry_no_autograd_history(kata, device, drawn):
    """Backward through the stored features reaches nothing: they are detached from the model's graph."""
    jobs = [Job([tree_], [["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False], ["get", 0, "a"],
                          ["backward", 0, 0, 5]],
                f"backward through {tree_.describe()} and its stored features {describe_names(names)}", tree_)
            for tree_, names, xs in drawn]
    for job, got, want in play_all(kata, device, jobs, why=RETURN_NONE):
        tree_ = job.case
        check_features(got[2], want[2], f"on {tree_.describe()}", why=DETACH)
        _check_grads(got[3], want[3], f"after backward through the output and the stored features of "
                     f"{tree_.describe()}",
                     DETACH + " Here a loss built from the features changed the gradients: they carry autograd "
                     "history.")


@given(drawn=batches(CASES))
@examples(3)
def test_extraction_leaves_the_output_and_the_gradients_unchanged(kata, device, drawn):
    """With hooks on the named layers, the model's output and every gradient are what they are without them."""
    jobs = [Job([tree_], [["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False],
                          ["backward", 0, None, 3]],
                f"a forward and backward pass of {tree_.describe()} with the extractor attached to "
                f"{describe_names(names)}", f"with the extractor on {describe_names(names)} of {tree_.describe()}")
            for tree_, names, xs in drawn]
    for job, got, want in play_all(kata, device, jobs, why=RETURN_NONE):
        where = job.case
        if not got[1]["requires_grad"]:
            fail(f"the model's output no longer requires grad {where}: {RETURN_NONE}")
        assert_close(got[1]["out"], want[1]["out"], f"the model's output {where}", why=RETURN_NONE)
        _check_grads(got[2], want[2], where, RETURN_NONE)


@given(drawn=batches(cases(must=[("linear_relu_", 4)])))
@examples(3)
def test_features_are_snapshots_that_later_in_place_changes_miss(kata, device, drawn):
    """In-place changes after a layer returned (an nn.ReLU(inplace=True), the caller's out.mul_()) miss its feature."""
    jobs = []
    for tree_, names, xs in drawn:
        names = list(dict.fromkeys(paths_of(tree_, "linear_relu_") + [""] + [n for n in names if n][:2]))
        script = [["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False], ["inplace", 0],
                  ["get", 0, "a"]]
        jobs.append(Job([tree_], script, f"a forward pass of {tree_.describe()}, then out.mul_(-3).add_(1) on its "
                        "output", tree_))
    for job, got, want in play_all(kata, device, jobs):
        tree_ = job.case
        check_features(got[3], want[3], f"of {tree_.describe()} (the output was then changed in place)", why=CLONE,
                       reference=reference_with_diagnostics([tree_], device, job.script, 0))


@given(drawn=batches(structured_cases(), max_size=3))
@examples(3)
def test_tuple_list_and_namedtuple_outputs_keep_their_structure(kata, device, drawn):
    """A layer returning a tuple, list, namedtuple or nested tuple is recorded with that same structure, detached."""
    style = "tuple, list, namedtuple, torch.return_types, nested or LSTM"
    jobs = []
    for tree_, names, xs in drawn:
        names = list(dict.fromkeys(paths_of(tree_, "multi", ".body") + names))
        script = [["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False], ["get", 0, "a"]]
        jobs.append(Job([tree_], script, f"a forward pass through a layer returning a {style} output, in "
                        f"{tree_.describe()}", tree_))
    for job, got, want in play_all(kata, device, jobs, why=STRUCTURE):
        check_features(got[2], want[2], f"of {job.case.describe()}", why=STRUCTURE)


@given(drawn=batches(CASES_TWO_INPUTS))
@examples(2)
def test_features_hold_the_latest_forward_pass(kata, device, drawn):
    """A second forward pass replaces the features of the first: they are the latest outputs."""
    jobs = [Job([tree_], [["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False],
                          ["forward", 0, xs[1].make(device), False], ["get", 0, "a"]],
                f"two forward passes of {tree_.describe()}", (tree_, xs))
            for tree_, names, xs in drawn]
    for job, got, want in play_all(kata, device, jobs, why=STRUCTURE):
        tree_, xs = job.case
        check_features(got[3], want[3], f"of {tree_.describe()} after forward passes on {xs[0].describe()} then "
                       f"{xs[1].describe()}", why="After two forward passes each feature must be the output of the "
                       "latest one.")


@given(drawn=batches(CASES_TWO_INPUTS))
@examples(2)
def test_get_features_returns_a_new_dict_each_time(kata, device, drawn):
    """A dict from get_features() is the caller's: a later forward pass, or clearing it, changes nothing else."""
    jobs = [Job([tree_], [["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False],
                          ["get", 0, "first"], ["forward", 0, xs[1].make(device), False], ["show", "first"],
                          ["clear", "first"], ["get", 0, "second"]],
                f"get_features() around two forward passes of {tree_.describe()}", tree_)
            for tree_, names, xs in drawn]
    why = ("get_features() must return a new dict each time (dict(self._features)): a dict the caller kept "
           "from an earlier pass must not change under them.")
    for job, got, want in play_all(kata, device, jobs, why=STRUCTURE):
        on = f"(on {job.case.describe()})"
        check_features(got[2], want[2], f"after the first pass {on}", why=why)
        check_features(got[4], want[4], f"(the dict returned after the first pass, read after a second pass) {on}",
                       why=why)
        check_features(got[6], want[6], f"after the caller cleared a dict returned earlier {on}", why=why)


@given(drawn=batches(CASES_TWO_INPUTS))
@examples(3)
def test_remove_hooks_stops_recording_and_keeps_the_features(kata, device, drawn):
    """After remove_hooks() no hook of the extractor remains, a new pass records nothing, the old features stay."""
    jobs = [Job([tree_], [["hooks", 0], ["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False],
                          ["get", 0, "a"], ["remove", 0], ["hooks", 0], ["forward", 0, xs[1].make(device), False],
                          ["get", 0, "b"]],
                f"remove_hooks() on an extractor of {describe_names(names)} in {tree_.describe()}", tree_)
            for tree_, names, xs in drawn]
    for job, got, want in play_all(kata, device, jobs, why=STRUCTURE):
        on = f"(on {job.case.describe()})"
        left = got[5]["hooks"] - got[0]["hooks"]
        if left:
            fail(f"remove_hooks() did not remove the hooks: {left} still registered on the model {on}. Keep "
                 "the handles register_forward_hook returns and call handle.remove() on each.")
        check_features(got[3], want[3], f"before remove_hooks() {on}")
        if "not_dict" not in got[7] and not got[7]["keys"] and want[7]["keys"]:  # a ModuleList never runs
            fail(f"get_features() is empty after remove_hooks() {on}: remove_hooks() threw away the features; "
                 "removing the hooks must keep the features recorded so far readable (after a with-block, for "
                 "instance).")
        check_features(got[7], want[7], f"after remove_hooks() and another forward pass {on}",
                       why="remove_hooks() did not remove the hooks: a forward pass after it still recorded features.")


@given(drawn=batches(CASES))
@examples(2)
def test_remove_hooks_can_be_called_twice(kata, device, drawn):
    """Calling remove_hooks() a second time is harmless."""
    why = "It must be safe to call twice."
    jobs = [Job([tree_], [["hooks", 0], ["make", 0, 0, names, "list"], ["forward", 0, xs[0].make(device), False],
                          ["remove", 0], ["remove", 0], ["hooks", 0], ["get", 0, "a"]],
                f"remove_hooks() twice on {tree_.describe()}", tree_)
            for tree_, names, xs in drawn]
    for job, got, want in play_all(kata, device, jobs, why=why):
        if got[5]["hooks"] != got[0]["hooks"]:
            fail(f"after remove_hooks() twice, hooks are still registered on {job.case.describe()}. {why}")
        check_features(got[6], want[6], f"of {job.case.describe()} after remove_hooks() twice", why=why)


@given(drawn=batches(st.tuples(cases(root=False), BOOLS)))
@examples(3)
def test_remove_hooks_leaves_other_hooks_alone(kata, device, drawn):
    """remove_hooks() removes only the extractor's own hooks: a hook someone else registered still runs."""
    jobs = []
    for (tree_, names, xs), before in drawn:
        script = [["make", 0, 0, names, "list"], ["remove", 0], ["forward", 0, xs[0].make(device), False],
                  ["foreign_calls"]]
        script.insert(0 if before else 1, ["foreign", 0, names[0]])
        jobs.append(Job([tree_], script, f"remove_hooks() with someone else's hook on {names[0]!r} of "
                        f"{tree_.describe()}", (tree_, names, before)))
    for job, got, want in play_all(kata, device, jobs):
        tree_, names, before = job.case
        if got[-1]["calls"] != want[-1]["calls"]:
            fail(f"remove_hooks() also removed a hook it did not register (on {names[0]!r} of {tree_.describe()}, "
                 f"registered {'before' if before else 'after'} the extractor's): remove only your own handles, "
                 "never clear module._forward_hooks.")


@given(drawn=batches(two_on_one(), max_size=4))
@examples(3)
def test_two_extractors_on_one_model_can_be_removed_in_either_order(kata, device, drawn):
    """Two extractors on the same layers each record until their own remove_hooks(), removed in either order."""
    jobs = [_two_extractors_removed(device, drawn_case, first) for drawn_case in drawn for first in (0, 1)]
    which = ["the first", "the second"]
    for job, got, want in play_all(kata, device, jobs):
        tree_, first = job.case
        on = f"on {tree_.describe()}"
        where = (f"after remove_hooks() on {which[first]} extractor (created {which[first].split()[1]}) and another "
                 f"pass, {on}")
        for step in (6, 7):
            check_features(got[step], want[step], f"of {which[step - 6]} extractor {where}", why=ORDER)
        for step in (10, 11):
            check_features(got[step], want[step], f"of {which[step - 10]} extractor after both were removed, {on}",
                           why="remove_hooks() did not remove the hooks: a forward pass after it still recorded "
                           "features.")
        if got[12]["hooks"] != got[0]["hooks"]:
            fail(f"{got[12]['hooks'] - got[0]['hooks']} hook(s) are left on the model after both extractors were "
                 f"removed ({which[first]} first), {on}. {ORDER}")


def _two_extractors_removed(device, drawn_case, first):
    tree_, names, xs, others = drawn_case
    names_b = list(dict.fromkeys(names[:1] + others))
    second = 1 - first
    script = [["hooks", 0], ["make", 0, 0, names, "list"], ["make", 1, 0, names_b, "list"],
              ["forward", 0, xs[0].make(device), False], ["remove", first],
              ["forward", 0, xs[1].make(device), False], ["get", 0, "a"], ["get", 1, "b"], ["remove", second],
              ["forward", 0, xs[2].make(device), False], ["get", 0, "c"], ["get", 1, "d"], ["hooks", 0]]
    return Job([tree_], script, f"two extractors on one model ({tree_.describe()}), removed one after the other",
               (tree_, first))


@given(drawn=batches(st.tuples(CASES_TWO_INPUTS, CASES_TWO_INPUTS), max_size=6))
@examples(2)
def test_two_extractors_on_two_models_keep_separate_features(kata, device, drawn):
    """Two extractors on two models each keep their own model's features: instances share no state."""
    jobs = [Job([tree_a, tree_b], [["make", 0, 0, names_a, "list"], ["make", 1, 1, names_b, "list"],
                                   ["forward", 0, xs_a[0].make(device), False],
                                   ["forward", 1, xs_b[0].make(device), False], ["remove", 1],
                                   ["forward", 0, xs_a[1].make(device), False], ["get", 0, "a"], ["get", 1, "b"]],
                f"two extractors on two models ({tree_a.describe()}; {tree_b.describe()})",
                f"(on {tree_a.describe()}; the other model is {tree_b.describe()})")
            for (tree_a, names_a, xs_a), (tree_b, names_b, xs_b) in drawn]
    for job, got, want in play_all(kata, device, jobs):
        check_features(got[6], want[6], f"of the first extractor, with a second one on another model (then removed) "
                       f"{job.case}", why="The first extractor's features changed with the second's: " + SEPARATE)
        check_features(got[7], want[7], f"of the second extractor {job.case}", why=SEPARATE)


@given(drawn=batches(CASES_TWO_INPUTS))
@examples(3)
def test_with_statement_binds_the_extractor_and_removes_the_hooks_on_leaving(kata, device, drawn):
    """`with FeatureExtractor(...) as fx` binds fx to the extractor; leaving removes the hooks, keeps the features."""
    jobs = []
    for tree_, names, xs in drawn:
        body = [["forward", 0, xs[0].make(device), False], ["get", 0, "in"]]
        script = [["hooks", 0], ["with", 0, 0, names, body, None], ["hooks", 0],
                  ["forward", 0, xs[1].make(device), False], ["get", 0, "after"]]
        jobs.append(Job([tree_], script, f"a with-block around a forward pass of {tree_.describe()}", tree_))
    for job, got, want in play_all(kata, device, jobs):
        on = f"(on {job.case.describe()})"
        if not got[1]["bound_is_fx"]:
            fail(f"`with extractor as fx` bound fx to something else {on}: __enter__ must return self.")
        check_features(got[1]["body"][1], want[1]["body"][1], f"inside the with-block {on}")
        left = got[2]["hooks"] - got[0]["hooks"]
        if left:
            fail(f"{left} hook(s) are still registered after the with-block {on}: __exit__ must call "
                 "remove_hooks().")
        check_features(got[4], want[4], f"after the with-block and another forward pass {on}",
                       why="__exit__ must call remove_hooks(), and keep the features recorded inside the block.")


@given(drawn=batches(CASES))
@examples(2)
def test_an_exception_in_the_with_block_propagates_and_removes_the_hooks(kata, device, drawn):
    """When the with-block raises (KeyboardInterrupt too), the hooks are removed and the exception goes on."""
    jobs = [Job([tree_], [["hooks", 0], ["with", 0, 0, names, [["forward", 0, xs[0].make(device), False]], raise_kind],
                          ["hooks", 0]],
                f"a with-block that raises, around a forward pass of {tree_.describe()}", (tree_, raise_kind))
            for tree_, names, xs in drawn for raise_kind in ("error", "interrupt")]
    for job, got, _ in play_all(kata, device, jobs, judge=False):
        tree_, raise_kind = job.case
        what = "an exception" if raise_kind == "error" else "KeyboardInterrupt"
        left = got[2]["hooks"] - got[0]["hooks"]
        if left:
            fail(f"{left} hook(s) are still registered after the with-block raised {what} (on {tree_.describe()}): "
                 "__exit__ runs on an exception too, and must remove the hooks.")
        if not got[1]["propagated"]:
            fail(f"{what} raised inside the with-block was swallowed (on {tree_.describe()}): __exit__ must return "
                 "None or False.")
