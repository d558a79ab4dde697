"""Kata 04: freeze/unfreeze by name prefix, optimizer parameter groups, parameter counts.

Every spec is judged outside the learner's process. The judge draws a MODULE TREE as a plain description
(nested Sequential / ModuleList / ModuleDict / custom blocks, Linear layers with and without bias, a subclass
of nn.Linear with an extra parameter, BatchNorm with and without affine parameters, parameter-free
activations, private names such as `_hidden`, buffers, modules kept in a plain Python list, tied parameters
and shared submodules, "layer1" next to "layer10", "1" next to "10"); a probe builds that tree in the
subject, calls the learner's helpers on it and observes by behaviour: which parameters receive a gradient
from a backward pass, how an SGD step over the returned groups moves each parameter. The judge builds its
own copy of the tree and computes every expectation with PyTorch's own named_parameters(), parameters()
and state_dict().

Contract clauses, and the specs that enforce them:

C1  A prefix p matches the parameter name n when n == p or n.startswith(p + "."); the names are those
    model.named_parameters() yields (a shared parameter once, under its first name).
    -> freeze_stops_gradients_exactly_under_the_prefixes, a_prefix_names_whole_components_layer1_is_not_layer10,
       param_groups_give_each_trainable_parameter_the_lr_of_its_longest_prefix
C2  freeze(model, prefixes) switches requires_grad off, in place, under the prefixes and nowhere else
    (already frozen parameters stay frozen; grad mode on or off): backward no longer reaches them; unfreeze
    switches it back on under the prefixes only, on the same Parameter objects.
    -> freeze_stops_gradients_exactly_under_the_prefixes, unfreeze_restores_training_under_the_prefixes
C3  Both return a plain list of str: the sorted names whose requires_grad actually flipped (a parameter that
    already had the requested state is not named; a second identical call returns []).
    -> freeze_returns_the_sorted_names_it_flipped, unfreeze_restores_training_under_the_prefixes
C4  prefixes is any iterable of str (list, tuple, set, dict keys, a generator), possibly empty, possibly with
    repeats; it is iterated once.   -> prefixes_may_be_any_iterable_even_a_generator
C5  A prefix that matches no parameter name (empty, a trailing dot, part of a component, a buffer's name, the
    path of a module without parameters) raises ValueError naming it, before anything changes.
    -> an_unmatched_prefix_raises_value_error_before_changing_anything
C6  param_groups returns a list of dicts {"params": list, "lr": number, "names": list}, names[i] the name of
    params[i]; every trainable parameter in exactly one group, with the lr of its longest matching prefix
    (default_lr when none matches); frozen parameters in none; no empty group. lr_by_prefix may hold prefixes
    that match nothing (no error, no group).
    -> param_groups_give_each_trainable_parameter_the_lr_of_its_longest_prefix, group_names_name_the_group_params,
       frozen_parameters_are_left_out_of_the_groups, empty_groups_are_left_out
C7  An SGD step over the groups moves each trainable parameter by -lr * grad with its group's lr and never
    a frozen one (even one holding a stale .grad); the groups go into torch.optim.SGD as they are.
    -> an_sgd_step_over_the_groups_moves_only_trainable_parameters, groups_work_as_given_with_torch_optim_sgd
C8  count_parameters(model, trainable_only=False) is a plain int: the numel of every registered parameter,
    a shared one once, buffers and unregistered tensors never; with trainable_only, only requires_grad ones.
    -> count_parameters_counts_each_registered_parameter_once, count_parameters_trainable_only_counts_what_trains
C9  The caller's prefixes and lr_by_prefix are never modified.   -> helpers_leave_the_callers_arguments_alone
"""

import itertools
import math

import torch
import torch._dynamo  # noqa: F401 - the first torch.optim optimizer imports it (a second); do it at collection
from torch import nn

from kata_runner.asserts import assert_close, each, fail
from kata_runner.batching import distinct_batches as batches
from kata_runner.draw import examples, given, st
from kata_runner.probing import outcome, probe
from kata_runner.subject import LearnerError, reset_state

DOTTED = (
    "A dotted prefix p matches the name n only when n == p or n.startswith(p + '.'), "
    "not as a substring or a bare startswith."
)
ONE_GROUP = (
    "Each trainable parameter belongs in exactly one group, the one of its longest matching prefix: "
    "torch.optim raises 'some parameters appear in more than one parameter group'."
)
FROZEN_OUT = (
    "Frozen parameters must be left out of the optimizer: it updates every parameter it holds whose .grad "
    "is set, stale gradients included."
)
SHARED_ONCE = "A shared (tied) parameter is one parameter and must be counted once: model.parameters() yields it once."
SHAPE = "param_groups must return a list of dicts {'params': [...], 'lr': ..., 'names': [...]} (optimizer param groups)"
FIRST_NAME = "Names are those model.named_parameters() yields: a shared parameter once, under its first name."


# ------------------------------------------------------------------------------------ module trees
# A tree is a plain description (lists, str, int, bool) that crosses the wire; `build` turns it into the same
# nn.Module on both sides. Node forms:
#   ["linear", in, out, bias]            nn.Linear
#   ["gated", in, out, bias]             GatedLinear, a subclass of nn.Linear with an extra Parameter "gate"
#   ["bn", n, affine]                    nn.BatchNorm1d (buffers always; weight and bias only when affine)
#   ["act"]                              nn.Tanh (no parameters)
#   ["long", n]                          nn.Sequential of 11 children: Linear at "1" and "10", Tanh elsewhere
#   ["seq", [node...]] / ["mlist", [node...]] / ["mdict", [[key, node]...]]
#   ["block", [[attr, node]...], [[param, shape]...], [[buffer, shape, persistent]...], [node...]]
#        a custom nn.Module: registered children, its own Parameters and buffers, and modules kept in a plain
#        Python list (unregistered: invisible to named_parameters)
# A tree is {"root": node, "ties": [[kind, module_path, attr, source]...], "seed": int}: a "param" tie sets
# module.attr to the parameter named source (weight tying), a "module" tie sets it to the submodule source.


class GatedLinear(nn.Linear):
    """A subclass of a built-in layer that adds a parameter of its own."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        self.gate = nn.Parameter(torch.ones(out_features))


class Block(nn.Module):
    def __init__(self, children, params, buffers, plain) -> None:
        super().__init__()
        for attr, node in children:
            setattr(self, attr, _node(node))
        for name, shape in params:
            setattr(self, name, nn.Parameter(torch.zeros(shape)))
        for name, shape, persistent in buffers:
            self.register_buffer(name, torch.zeros(shape), persistent=persistent)
        self.plain = [_node(node) for node in plain]  # a plain list: not registered


def _node(node):
    kind = node[0]
    if kind == "linear":
        return nn.Linear(node[1], node[2], bias=node[3])
    if kind == "gated":
        return GatedLinear(node[1], node[2], node[3])
    if kind == "bn":
        return nn.BatchNorm1d(node[1], affine=node[2])
    if kind == "act":
        return nn.Tanh()
    if kind == "long":
        return nn.Sequential(*[nn.Linear(node[1], node[1]) if i in (1, 10) else nn.Tanh() for i in range(11)])
    if kind == "seq":
        return nn.Sequential(*[_node(child) for child in node[1]])
    if kind == "mlist":
        return nn.ModuleList([_node(child) for child in node[1]])
    if kind == "mdict":
        return nn.ModuleDict({key: _node(child) for key, child in node[1]})
    return Block(node[1], node[2], node[3], node[4])


def tie(model, kind, path, attr, source):
    value = model.get_parameter(source) if kind == "param" else model.get_submodule(source)
    setattr(model.get_submodule(path), attr, value)


def skeleton(tree):
    """The tree's modules, ties applied, before its dtype, device and values."""
    model = _node(tree["root"])
    for kind, path, attr, source in tree["ties"]:
        tie(model, kind, path, attr, source)
    return model


def finish(model, tree, device="cpu", dtype=torch.float64):
    """Move and cast a skeleton (tied parameters stay tied: .to() converts each Parameter in place), then give
    every parameter its values, drawn from the tree's seed in named_parameters() order."""
    model.to(device=device, dtype=dtype)
    generator = torch.Generator().manual_seed(tree["seed"])
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    return model


def build(tree, device="cpu", dtype=torch.float64):
    return finish(skeleton(tree), tree, device, dtype)


_JUDGE_MODELS: dict[tuple[str, str], nn.Module] = {}


def judged(tree, device="cpu"):
    """The judge's own copy of a tree, built once and only read (names, values, counts)."""
    key = (repr(tree), str(device))
    if key not in _JUDGE_MODELS:
        remember(tree, build(tree, device), device)
    return _JUDGE_MODELS[key]


def remember(tree, model, device="cpu"):
    if len(_JUDGE_MODELS) > 256:
        _JUDGE_MODELS.clear()
    _JUDGE_MODELS[repr(tree), str(device)] = model


def loss_of(model):
    """sum_k (k + 1) * |p_k|^2 / 2 over named_parameters(): its gradient for the k-th parameter is (k + 1) * p_k."""
    total = None
    for k, (_, p) in enumerate(model.named_parameters()):
        term = (k + 1) * p.double().pow(2).sum() / 2
        total = term if total is None else total + term
    return total


def grads_after_backward(model, held):
    """Clear every .grad, backward through loss_of, and report the gradient of each Parameter in `held` (name ->
    the Parameter object an optimizer built before the call would hold)."""
    for p in [*model.parameters(), *held.values()]:
        p.grad = None
    loss = loss_of(model)
    if loss is not None and loss.requires_grad:
        loss.backward()
    grads = {name: None if p.grad is None else p.grad.detach().clone() for name, p in held.items()}
    return {"grads": grads, "names": [name for name, _ in model.named_parameters()]}


def as_form(prefixes, form):
    if form == "tuple":
        return tuple(prefixes)
    if form == "set":
        return set(prefixes)
    if form == "dict keys":
        return dict.fromkeys(prefixes).keys()
    if form == "generator":
        return (p for p in prefixes)
    return list(prefixes)


def matches(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


# ------------------------------------------------------------------------------------------ probes
# These run in the subject, next to the learner's code. They observe; the specs below decide. Each takes a batch
# of cases, so that one round trip judges several drawn trees; every case starts from the state a probe call
# starts from (seed 0, torch's defaults), as if it had its own call.


@probe
def flip(impl, cases):
    """For each (tree, device, pre_frozen, prefixes, form, fn, twice, no_grad): the helper's return value(s) and
    which parameters a backward pass reaches afterwards."""
    seen = []
    for tree, device, pre_frozen, prefixes, form, fn, twice, no_grad in cases:
        reset_state(0)
        model = build(tree, device)
        named = dict(model.named_parameters())
        for name in pre_frozen:
            named[name].requires_grad_(False)
        helper = getattr(impl, fn)
        given_prefixes = as_form(prefixes, form)
        with torch.set_grad_enabled(not no_grad):
            returned = helper(model, given_prefixes)
            again = helper(model, as_form(prefixes, form)) if twice else None
        seen.append({"returned": returned, "again": again, **grads_after_backward(model, named)})
    return seen


@probe
def flip_with_typo(impl, cases):
    """For each (tree, device, pre_frozen, prefixes, fn): what the helper raised, and what backward reaches after."""
    seen = []
    for tree, device, pre_frozen, prefixes, fn in cases:
        reset_state(0)
        model = build(tree, device)
        named = dict(model.named_parameters())
        for name in pre_frozen:
            named[name].requires_grad_(False)
        result = outcome(getattr(impl, fn), model, list(prefixes))  # NotImplementedError goes through
        seen.append({"result": result, **grads_after_backward(model, named)})
    return seen


def _observe_groups(groups, owner):
    seen = []
    for group in groups if isinstance(groups, list | tuple) else []:
        if not isinstance(group, dict):
            seen.append({"type": type(group).__name__})
            continue
        params = group.get("params")
        kind = type(params).__name__
        listed = list(params) if isinstance(params, list | tuple | set) else []
        names = group.get("names")
        seen.append({
            "type": "dict", "keys": sorted(str(k) for k in group), "params_type": kind,
            "owners": [owner.get(id(p)) for p in listed], "lr": group.get("lr"),
            "names": [str(n) for n in names] if isinstance(names, list | tuple) else None,
        })
    return seen, type(groups).__name__


def sgd_step(groups):
    torch.optim.SGD(groups, lr=123.0).step()


@probe
def group_and_step(impl, cases, optimizer=False):
    """For each (tree, device, frozen, table, default_lr): warm-up gradients everywhere, freeze `frozen`, build the
    groups, backward again, one SGD step (torch.optim.SGD's own when `optimizer`)."""
    seen = []
    for tree, device, frozen, table, default_lr in cases:
        reset_state(0)
        model = build(tree, device)
        named = dict(model.named_parameters())
        owner = {id(p): name for name, p in named.items()}
        loss_of(model).backward()  # earlier training: every parameter now holds a .grad
        for name in frozen:
            named[name].requires_grad_(False)
        groups = impl.param_groups(model, table, default_lr)
        observed, groups_type = _observe_groups(groups, owner)
        loss = loss_of(model)
        if loss.requires_grad:
            loss.backward()  # trainable parameters accumulate a second gradient; frozen ones keep the stale one
        stepped = None
        if optimizer:
            stepped = outcome(sgd_step, groups)
        else:
            with torch.no_grad():  # SGD without momentum; malformed groups are left to the judge's shape checks
                for group in groups if isinstance(groups, list | tuple) else []:
                    if not isinstance(group, dict) or not isinstance(group.get("lr"), int | float):
                        continue
                    params = group.get("params")
                    for p in list(params) if isinstance(params, list | tuple | set) else []:
                        if isinstance(p, torch.Tensor) and p.grad is not None:
                            p.sub_(group["lr"] * p.grad)
        seen.append({
            "groups": observed, "groups_type": groups_type, "stepped": stepped,
            "after": {name: p.detach().clone() for name, p in named.items()},
        })
    return seen


@probe
def arguments_kept(impl, cases):
    """For each (tree, device, prefixes, table, default_lr): call each helper on a fresh model; report whether the
    caller's list and dict came back changed."""
    seen = []
    for tree, device, prefixes, table, default_lr in cases:
        reset_state(0)
        changed = {}
        for fn in ("freeze", "unfreeze"):
            mine = list(prefixes)
            getattr(impl, fn)(build(tree, device), mine)
            changed[fn] = mine != list(prefixes)
        mine = dict(table)
        impl.param_groups(build(tree, device), mine, default_lr)
        changed["param_groups"] = mine != table
        seen.append(changed)
    return seen


@probe
def counts(impl, cases):
    """For each (tree, device, frozen): count_parameters without and with trainable_only (keyword, positional)."""
    seen = []
    for tree, device, frozen in cases:
        reset_state(0)
        model = build(tree, device)
        named = dict(model.named_parameters())
        for name in frozen:
            named[name].requires_grad_(False)
        seen.append({
            "all": impl.count_parameters(model),
            "trainable": impl.count_parameters(model, trainable_only=True),
            "positional": impl.count_parameters(model, True),
        })
    return seen


# ------------------------------------------------------------------------------------------ batches


def run_batch(kata, probe_function, cases, doings, *, why="", **kwargs):
    """One round trip for the whole batch. When the learner's code raises, each case is run again on its own, so
    that the message names the case that raises (the batch's own message names only its first)."""
    more = f" (and {len(cases) - 1} more drawn models)" if len(cases) > 1 else ""
    try:
        return each(cases, kata.run(probe_function, cases, doing=doings[0] + more, why=why, **kwargs))
    except LearnerError:
        if len(cases) == 1:
            raise
        for case, doing in zip(cases, doings):
            kata.run(probe_function, [case], doing=doing, why=why, **kwargs)
        raise


# ------------------------------------------------------------------------------------------ inputs
# Every strategy is built once, here (one built inside a composite is validated again on every draw), and a
# tree takes few draws: a leaf is one choice among all its forms, a block's attributes, parameters and buffers
# one choice each. Choices among values known only once drawn (a tree's own names and paths) take an index.

ATTRS = ("encoder", "head", "_hidden", "layer1_extra", "blocks", "_x")
DICT_KEYS = ("a", "a1", "_p", "layer1", "layer10")
OWN_PARAMS = ("scale", "_offset")
BUFFERS = ("running", "_mask")
SIDES = (1, 2, 3)
FLAGS = (False, True)


def weighted(options_by_group):
    """A sampled_from in which each group of options is equally likely, its simplest option first."""
    weight = math.lcm(*(len(group) for group in options_by_group))
    return st.sampled_from([option for group in options_by_group for option in group * (weight // len(group))])


def ordered_subsets(names, sizes):
    return [[list(chosen) for chosen in itertools.permutations(names, size)] for size in sizes]


LEAF_FORMS = {
    "linear": [["linear", i, o, b] for b in FLAGS for i in SIDES for o in SIDES],
    "gated": [["gated", i, o, b] for b in FLAGS for i in SIDES for o in SIDES],
    "bn": [["bn", n, affine] for affine in FLAGS for n in SIDES],
    "act": [["act"]],
    "long": [["long", n] for n in (1, 2)],
}
CONTAINERS = ("seq", "mlist", "mdict", "block")
KINDS = {  # each kind equally likely, as a first draw; a leaf is then complete
    "params": weighted([LEAF_FORMS["linear"], LEAF_FORMS["gated"]]),
    "leaves": weighted([LEAF_FORMS[kind] for kind in ("linear", "gated", "bn", "act")]),
    "any": weighted([*LEAF_FORMS.values(), *[[[kind]] for kind in CONTAINERS]]),
}
KEY_SETS = weighted(ordered_subsets(DICT_KEYS, (1, 2, 3)))
ATTR_SETS = {least: weighted(ordered_subsets(ATTRS, range(least, 3))) for least in (0, 1)}
OWN_SETS = weighted([[[]], *[[[[name, [side]] for name, side in zip(names, shape)]
                              for names in itertools.permutations(OWN_PARAMS, size)
                              for shape in itertools.product(SIDES, repeat=size)] for size in (1, 2)]])
BUFFER_SETS = {  # least to 2 buffers, each persistent or not, but the first `least` persistent
    least: weighted([[[[name, [2], persistent] for name, persistent in zip(names, (True,) * least + flags)]
                      for names in itertools.permutations(BUFFERS, size)
                      for flags in itertools.product(FLAGS, repeat=size - least)] for size in range(least, 3)])
    for least in (0, 1)
}
PLAIN_SETS = weighted([[[]], [[form] for form in LEAF_FORMS["linear"] + LEAF_FORMS["gated"]]])
MAX_DEPTH = 3

INDEX = st.integers(0, 2**16 - 1)
COUNTS = {(least, most): st.integers(least, most) for least in (0, 1) for most in (2, 3, 4)}
FLAG = st.booleans()
SEEDS = st.integers(0, 999)
TIE_ATTRS = st.sampled_from(["shared", "_tied"])


def pick(draw, values):
    """One of `values` (a sequence known only once drawn); shrinks towards the first."""
    return values[draw(INDEX) % len(values)]


def pick_some(draw, values, least, most, unique=False):
    """least to most of `values` (repeats allowed unless `unique`), in the order drawn."""
    chosen = [pick(draw, values) for _ in range(draw(COUNTS[least, most]))]
    return list(dict.fromkeys(chosen)) if unique else chosen


def copied(node):
    return [copied(part) if isinstance(part, list) else part for part in node]


@st.composite
def nodes(draw, depth=0, with_params=False):
    node = copied(draw(KINDS["params" if with_params else "any" if depth < 2 else "leaves"]))
    kind = node[0]
    if kind in ("seq", "mlist"):
        return [kind, draw(CHILDREN[depth + 1])]
    if kind == "mdict":
        return ["mdict", [[key, draw(NODES[depth + 1, False])] for key in draw(KEY_SETS)]]
    if kind == "block":
        return draw(BLOCKS[depth])
    return node


@st.composite
def blocks(draw, depth, required=(), min_buffers=0):
    children = [[attr, draw(NODES[depth + 1, True])] for attr in required]
    children += [[attr, draw(NODES[depth + 1, False])] for attr in draw(ATTR_SETS[0 if required else 1])]
    params, buffers, plain = (copied(draw(options)) for options in (OWN_SETS, BUFFER_SETS[min_buffers], PLAIN_SETS))
    return ["block", children, params, buffers, plain]


NODES = {(depth, with_params): nodes(depth, with_params) for depth in range(MAX_DEPTH + 1) for with_params in FLAGS}
CHILDREN = {depth: st.lists(NODES[depth, False], min_size=1, max_size=3) for depth in range(MAX_DEPTH + 1)}
BLOCKS = {depth: blocks(depth) for depth in range(MAX_DEPTH)}
ROOTS = {least: blocks(0, required=("layer1", "layer10"), min_buffers=least) for least in (0, 1)}


def canonical(model):
    return [name for name, _ in model.named_parameters()]


def module_paths(model, kind=None):
    return [path for path, m in model.named_modules(remove_duplicate=False) if kind is None or isinstance(m, kind)]


@st.composite
def trees(draw, min_buffers=0):
    """A module tree; the root always holds layer1 and layer10 with parameters (the classic prefix trap)."""
    root = draw(ROOTS[min_buffers])
    tree = {"root": root, "ties": [], "seed": draw(SEEDS)}
    if draw(FLAG):  # weight tying, as a language model's decoder reuses its embedding matrix
        tree["ties"].append(["param", "layer10", "weight", "layer1.weight"])
    model = skeleton(tree)  # its names and paths, as more ties are drawn
    for _ in range(draw(COUNTS[0, 2])):
        if draw(FLAG):
            names = canonical(model)
            source, target = pick(draw, names), pick(draw, names)
            if source == target:
                continue
            path, _, attr = target.rpartition(".")
            tied = ["param", path, attr, source]
        else:
            path = pick(draw, module_paths(model, Block))
            # Never the target or a module holding it, under any of its paths (a shared module has several): a cycle.
            target = model.get_submodule(path)
            sources = [s for s in module_paths(model)
                       if s and all(m is not target for m in model.get_submodule(s).modules())]
            if not sources:
                continue
            tied = ["module", path, draw(TIE_ATTRS), pick(draw, sources)]
        tree["ties"].append(tied)
        tie(model, *tied)
    remember(tree, finish(model, tree))  # the judge's copy, without building the tree again
    return tree


TREES = trees()
TREES_WITH_BUFFERS = trees(min_buffers=1)


def prefix_candidates(names):
    """Every dotted prefix of every parameter name: module paths and the full names."""
    found = []
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix not in found:
                found.append(prefix)
    return found


@st.composite
def freeze_cases(draw, min_prefixes=1, trap=False):
    """(tree, names, pre_frozen, prefixes): prefixes drawn from the tree's own module paths and names."""
    tree = draw(TREES)
    names = canonical(judged(tree))
    pre_frozen = pick_some(draw, names, 0, 3, unique=True)
    if trap:
        return tree, names, pre_frozen, ["layer1"]
    candidates = prefix_candidates(names)
    prefixes = pick_some(draw, candidates, min_prefixes, 3)
    # A module path that reaches a shared parameter through its second name (layer10 when layer10.weight is
    # layer1.weight) and still holds a parameter of its own, so that freezing it is valid: the C1 trap.
    second = [p for name in second_names(tree) for p in prefix_candidates([name]) if p in candidates]
    if second and draw(FLAG):
        prefixes = list(dict.fromkeys([*prefixes, pick(draw, second)]))
    return tree, names, pre_frozen, prefixes


FREEZE_CASES = freeze_cases()
# A tie can leave layer1 without a parameter of its own name (layer1.weight is scale): then 'layer1' matches nothing.
TRAP_CASES = freeze_cases(trap=True).filter(lambda case: any(matches(name, "layer1") for name in case[1]))


def typos(tree):
    """Prefixes that match no parameter name: empty, a trailing dot, part of a component, past a name, wrong case,
    a buffer's name, the path of a module without parameters."""
    model = judged(tree)
    names = canonical(model)
    found = ["", names[0] + ".", names[0].split(".")[0][:-1], names[-1] + ".x", "Layer1", "layer1.gate.x"]
    found += [name for name, _ in model.named_buffers()]
    found += [path for path, m in model.named_modules() if path and not list(m.parameters())]
    return [t for t in found if not any(matches(n, t) for n in names)]


def where(tree):
    """The tree in words, for failure messages."""
    model = judged(tree)
    ties = [f"{'.'.join(filter(None, [p, a]))} is {s}" for _, p, a, s in tree["ties"]]
    text = f"a model with parameters {canonical(model)}"
    return text + (f" (tied/shared: {'; '.join(ties)})" if ties else "")


def expected_grads(tree, device, frozen):
    model = judged(tree, device)
    return {name: None if name in frozen else (k + 1) * p.detach().double()
            for k, (name, p) in enumerate(model.named_parameters())}


def second_names(tree):
    """The names named_parameters(remove_duplicate=False) gives a shared parameter besides its first."""
    return [alias for name, found in aliases(tree).items() for alias in found if alias != name]


def aliases(tree):
    """name -> every name named_parameters(remove_duplicate=False) gives the same parameter under."""
    model = judged(tree)
    first = {id(p): name for name, p in model.named_parameters()}
    found: dict[str, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        found.setdefault(first[id(p)], []).append(name)
    return found


def stray_reason(name, tree, prefixes):
    """Why `name` must not be touched by these prefixes, in words."""
    if any(matches(alias, p) for alias in aliases(tree)[name] for p in prefixes):
        return f"{name!r} is under none of the prefixes {prefixes}; only another name of this shared parameter is. " \
               + FIRST_NAME
    if any(name.startswith(p) or p in name for p in prefixes):
        return f"{name!r} is under none of the prefixes {prefixes}. {DOTTED}"
    return f"{name!r} is under none of the prefixes {prefixes}."


def flip_doing(fn, prefixes, tree, pre_frozen, before="frozen before"):
    return f"{fn}(model, {prefixes!r}) on {where(tree)}" + (f" with {sorted(pre_frozen)} {before}" if pre_frozen
                                                            else "")


def check_flags(seen, tree, device, pre_frozen, prefixes, fn):
    """Judge the requires_grad state a freeze/unfreeze left, through which parameters backward reaches."""
    names = canonical(judged(tree))
    grads = seen["grads"]
    under = {n for n in names if any(matches(n, p) for p in prefixes)}
    frozen = (set(pre_frozen) | under) if fn == "freeze" else (set(pre_frozen) - under)
    doing = flip_doing(fn, prefixes, tree, pre_frozen)
    expected = expected_grads(tree, device, frozen)
    if seen["names"] != names:
        fail(f"after {doing} the model's parameters are {seen['names']}, expected {names}: "
             "change requires_grad in place, never replace, rename or remove parameters.")
    assert expected, "every tree has parameters"
    for name, value in expected.items():
        got = grads[name]
        if value is None and got is not None:
            if fn == "unfreeze":
                fail(f"after {doing}, backward reaches {name!r}, which was frozen: {stray_reason(name, tree, prefixes)}"
                     " unfreeze turns requires_grad on only under the prefixes.")
            if name in pre_frozen:
                fail(f"after {doing}, backward reaches {name!r}, which was already frozen before the call: freeze "
                     "must leave it frozen (set requires_grad to False, do not toggle it).")
            fail(f"after {doing}, backward still reaches {name!r}: requires_grad must be False on every "
                 f"parameter under the prefixes.")
        if value is not None and got is None:
            if fn == "freeze":
                fail(f"after {doing}, backward no longer reaches {name!r}: freeze switched it off although "
                     + stray_reason(name, tree, prefixes))
            fail(f"after {doing}, backward does not reach the Parameter {name!r} (the object an optimizer built "
                 "before holds): unfreeze must set requires_grad=True, in place, on every parameter under the "
                 "prefixes.")
        if value is not None:
            assert_close(got.double(), value, f"the gradient of {name!r} after {doing}")


def flipped(tree, pre_frozen, prefixes, fn):
    names = canonical(judged(tree))
    under = [n for n in names if any(matches(n, p) for p in prefixes)]
    if fn == "freeze":
        return sorted(n for n in under if n not in pre_frozen)
    return sorted(n for n in under if n in pre_frozen)


def check_returned(returned, expected, under, doing):
    if not isinstance(returned, list) or not all(isinstance(n, str) for n in returned):
        fail(f"{doing} returned {returned!r}: return a plain list of str, the sorted names whose requires_grad "
             "flipped.")
    if returned == expected:
        return
    if sorted(returned) == expected:
        fail(f"{doing} returned {returned!r}, expected the sorted list {expected!r}.")
    if sorted(set(returned)) == sorted(under) and set(under) != set(expected):
        fail(f"{doing} returned {returned!r}, every name under the prefixes; expected {expected!r}: name only the "
             "parameters whose requires_grad actually flipped (one already in the requested state did not).")
    fail(f"{doing} returned {returned!r}, expected {expected!r}: the sorted names whose requires_grad flipped. "
         f"{DOTTED}")


def flip_case(tree, device, pre_frozen, prefixes, form="list", fn="freeze", twice=False, no_grad=False):
    return (tree, device, pre_frozen, prefixes, form, fn, twice, no_grad)


# ------------------------------------------------------------------------------------------ specs: freeze


@given(drawn=batches(st.tuples(FREEZE_CASES, FLAG), 3, 8))
@examples(3)
def test_freeze_stops_gradients_exactly_under_the_prefixes(kata, device, drawn):
    """After freeze (grad mode on or off) backward reaches no parameter under the prefixes, and every other one."""
    cases = [flip_case(tree, device, pre_frozen, prefixes, no_grad=no_grad)
             for (tree, _, pre_frozen, prefixes), no_grad in drawn]
    doings = [f"freeze(model, {prefixes!r}) on {where(tree)}" + (" under torch.no_grad()" if no_grad else "")
              for tree, _, _, prefixes, *_, no_grad in cases]
    for (tree, _, pre_frozen, prefixes, *_), seen in run_batch(kata, flip, cases, doings):
        check_flags(seen, tree, device, pre_frozen, prefixes, "freeze")


@given(drawn=batches(TRAP_CASES, 2, 5))
@examples(2)
def test_a_prefix_names_whole_components_layer1_is_not_layer10(kata, device, drawn):
    """freeze(model, ['layer1']) freezes layer1.* and leaves layer10.* (and layer1_extra.*) training."""
    cases = [flip_case(tree, device, [], prefixes) for tree, _, _, prefixes in drawn]
    doings = [f"freeze(model, ['layer1']) on {where(tree)}" for tree, *_ in cases]
    for (tree, _, _, prefixes, *_), seen in run_batch(kata, flip, cases, doings):
        check_flags(seen, tree, device, [], prefixes, "freeze")


@given(drawn=batches(freeze_cases(min_prefixes=0), 3, 7))
@examples(3)
def test_freeze_returns_the_sorted_names_it_flipped(kata, device, drawn):
    """freeze returns the sorted names whose requires_grad it switched off; a second identical call returns []."""
    cases = [flip_case(tree, device, pre_frozen, prefixes, twice=True) for tree, _, pre_frozen, prefixes in drawn]
    doings = [flip_doing("freeze", prefixes, tree, pre_frozen, "already frozen") for tree, _, pre_frozen, prefixes, *_
              in cases]
    for ((tree, _, pre_frozen, prefixes, *_), seen), doing in zip(run_batch(kata, flip, cases, doings), doings):
        expected = flipped(tree, pre_frozen, prefixes, "freeze")
        under = flipped(tree, [], prefixes, "freeze")
        check_returned(seen["returned"], expected, under, doing)
        if seen["again"] != []:
            fail(f"calling {doing.split(' on ')[0]} a second time returned {seen['again']!r}, expected []: nothing "
                 "is flipped the second time, the parameters are already frozen.")


FORMS = st.sampled_from(["generator", "tuple", "generator", "set", "generator", "dict keys"])
EMPTY = st.sampled_from([False, False, False, True])


@given(drawn=batches(st.tuples(FREEZE_CASES, FORMS, FLAG, EMPTY), 3, 7))
@examples(3)
def test_prefixes_may_be_any_iterable_even_a_generator(kata, device, drawn):
    """prefixes may be a tuple, a set, dict keys or a generator (iterated once), empty or with repeats."""
    cases = []
    for (tree, _, pre_frozen, prefixes), form, repeat, empty in drawn:
        prefixes = [] if empty else prefixes + prefixes[:1] if repeat else prefixes
        cases.append(flip_case(tree, device, pre_frozen, prefixes, form))
    doings = [f"freeze(model, <{form} of {prefixes!r}>) on {where(tree)}" for tree, _, _, prefixes, form, *_ in cases]
    seen_all = run_batch(kata, flip, cases, doings,
                         why="prefixes may be any iterable of str: iterate it once (list(prefixes)).")
    for ((tree, _, pre_frozen, prefixes, form, *_), seen), doing in zip(seen_all, doings):
        why = (f"with the prefixes given as a {form} of {prefixes!r}: prefixes may be any iterable of str, a "
               "generator included, so iterate it once (list(prefixes)) before checking and applying them.")
        try:
            check_flags(seen, tree, device, pre_frozen, prefixes, "freeze")
        except AssertionError as exc:
            fail(f"{exc} ({why})")
        expected = flipped(tree, pre_frozen, prefixes, "freeze")
        if seen["returned"] != expected:
            fail(f"{doing} returned {seen['returned']!r}, expected {expected!r} {why}")


@st.composite
def typo_cases(draw):
    """A freeze case whose prefixes hold one that matches nothing, somewhere among valid ones."""
    tree, names, pre_frozen, prefixes = draw(FREEZE_CASES)
    typo = pick(draw, typos(tree))
    at = draw(INDEX) % (len(prefixes) + 1)
    return tree, pre_frozen, [*prefixes[:at], typo, *prefixes[at:]], typo


@given(drawn=batches(st.tuples(typo_cases(), st.sampled_from(["freeze", "unfreeze"])), 3, 7))
@examples(3)
def test_an_unmatched_prefix_raises_value_error_before_changing_anything(kata, device, drawn):
    """A prefix matching no parameter name raises ValueError naming it, and no requires_grad has changed."""
    cases = [(tree, device, pre_frozen, prefixes, fn) for (tree, pre_frozen, prefixes, _), fn in drawn]
    doings = [f"{fn}(model, {prefixes!r}) on {where(tree)}" for tree, _, _, prefixes, fn in cases]
    typo_of = [typo for (*_, typo), _ in drawn]
    seen_all = run_batch(kata, flip_with_typo, cases, doings)
    for ((tree, _, pre_frozen, _, _), seen), doing, typo in zip(seen_all, doings, typo_of):
        raised = seen["result"]["raised"]
        if raised is None:
            fail(f"{doing} did not raise: the prefix {typo!r} matches no parameter name. An unmatched prefix is "
                 "almost always a typo; raise ValueError naming it instead of doing nothing.")
        if "ValueError" not in raised["types"]:
            fail(f"{doing} raised {raised['type']}: {raised['message']}; expected ValueError naming the prefix "
                 f"{typo!r} that matches no parameter name.")
        if typo and typo not in raised["message"]:
            fail(f"{doing} raised ValueError({raised['message']!r}), which does not name the prefix {typo!r} that "
                 "matches no parameter name.")
        expected = expected_grads(tree, device, set(pre_frozen))
        assert expected, "every tree has parameters"
        for name, value in expected.items():
            if (value is None) != (seen["grads"].get(name) is None):
                fail(f"{doing} raised, but first changed requires_grad of {name!r}: check every prefix before "
                     "changing anything, so that a typo leaves the model as it was.")


@given(drawn=batches(st.tuples(FREEZE_CASES, FLAG), 3, 7))
@examples(3)
def test_unfreeze_restores_training_under_the_prefixes(kata, device, drawn):
    """unfreeze switches requires_grad back on under the prefixes only, and returns the sorted names it flipped."""
    cases = [flip_case(tree, device, names if everything else pre_frozen, prefixes, "list", "unfreeze", True)
             for (tree, names, pre_frozen, prefixes), everything in drawn]
    doings = [f"unfreeze(model, {prefixes!r}) on {where(tree)} with {sorted(pre_frozen)} frozen"
              for tree, _, pre_frozen, prefixes, *_ in cases]
    seen_all = run_batch(kata, flip, cases, doings)
    for ((tree, _, pre_frozen, prefixes, *_), seen), doing in zip(seen_all, doings):
        check_flags(seen, tree, device, pre_frozen, prefixes, "unfreeze")
        expected = flipped(tree, pre_frozen, prefixes, "unfreeze")
        check_returned(seen["returned"], expected, flipped(tree, canonical(judged(tree)), prefixes, "unfreeze"),
                       doing)
        if seen["again"] != []:
            fail(f"calling unfreeze a second time returned {seen['again']!r}, expected []: nothing flips twice.")


# ------------------------------------------------------------------------------------------ specs: param_groups

LRS = st.sampled_from((0.5, 0.1, 0.05, 0.01, 1, 2))
DEFAULT_LRS = st.sampled_from([1e-3, 0.2, 0])


@st.composite
def group_cases(draw):
    """(tree, names, frozen, table, default_lr): prefixes from the tree, nested ones included, plus strays."""
    tree = draw(TREES)
    names = canonical(judged(tree))
    frozen = pick_some(draw, names, 0, 3, unique=True)
    candidates = prefix_candidates(names) + ["layer", "missing.prefix"]
    prefixes = pick_some(draw, candidates, 1, 4, unique=True)
    table = {p: draw(LRS) for p in prefixes}
    deep = [n for n in names if "." in n and n not in frozen]
    if deep and draw(FLAG):  # a nested pair, the outer one first: "encoder" then "encoder.2"
        inner = pick(draw, deep)
        outer = inner.split(".")[0]
        table = {outer: 0.25, **{p: lr for p, lr in table.items() if p not in (outer, inner)}, inner: 0.75}
    return tree, names, frozen, table, draw(DEFAULT_LRS)


GROUP_CASES = group_cases()


def lr_for(name, table, default):
    best = max((p for p in table if matches(name, p)), key=len, default=None)
    return default if best is None else table[best]


def groups_seen(seen, doing):
    """The observed groups, after the shape checks every optimizer makes."""
    if seen["groups_type"] not in ("list", "tuple"):
        fail(f"{doing} returned a {seen['groups_type']}: {SHAPE}.")
    for i, group in enumerate(seen["groups"]):
        if group["type"] != "dict" or not {"params", "lr", "names"} <= set(group["keys"]):
            fail(f"group {i} of {doing} is {group.get('keys', group['type'])}: {SHAPE}.")
        if group["params_type"] == "set":
            fail(f"group {i} of {doing} keeps its params in a set: torch.optim needs them in an ordered collection "
                 f"(a list). {SHAPE}.")
        if group["params_type"] not in ("list", "tuple"):
            fail(f"group {i} of {doing} holds its params in a {group['params_type']}: {SHAPE}.")
        if group["names"] is None or len(group["names"]) != len(group["owners"]):
            fail(f"group {i} of {doing} has {len(group['owners'])} params but names {group['names']!r}: names[i] "
                 "must be the name of params[i].")
        if isinstance(group["lr"], bool) or not isinstance(group["lr"], int | float):
            fail(f"group {i} of {doing} has lr {group['lr']!r}: each group's 'lr' must be a number.")
        for owner in group["owners"]:
            if owner is None:
                fail(f"group {i} of {doing} holds a tensor that is none of the model's parameters (a copy?): put the "
                     "model's own Parameter objects in the groups.")
    return seen["groups"]


def group_doing(tree, frozen, table, default_lr):
    return (f"param_groups(model, {table!r}, {default_lr!r}) on {where(tree)}"
            + (f" with {sorted(frozen)} frozen" if frozen else ""))


def run_groups(kata, device, drawn, then="", optimizer=False, some_frozen=False):
    """group_and_step on each drawn case; yields (case, its doing, what the subject saw). `some_frozen` freezes the
    first parameter of a case that froze none; with `optimizer`, the last parameter of a case that froze them all
    trains (torch.optim refuses an empty parameter list)."""
    cases = []
    for tree, names, frozen, table, default_lr in drawn:
        if some_frozen:
            frozen = frozen or names[:1]
        if optimizer and set(names) <= set(frozen):
            frozen = [name for name in frozen if name != names[-1]]
        cases.append((tree, device, frozen, table, default_lr))
    doings = [group_doing(tree, frozen, table, default_lr) + then for tree, _, frozen, table, default_lr in cases]
    seen_all = run_batch(kata, group_and_step, cases, doings, optimizer=optimizer)
    return [(case, doing, seen) for (case, seen), doing in zip(seen_all, doings)]


@given(drawn=batches(GROUP_CASES, 3, 8))
@examples(3)
def test_param_groups_give_each_trainable_parameter_the_lr_of_its_longest_prefix(kata, device, drawn):
    """Every trainable parameter is in exactly one group, whose lr is that of its longest matching prefix."""
    for (tree, _, frozen, table, default_lr), doing, seen in run_groups(kata, device, drawn):
        groups = groups_seen(seen, doing)
        found: dict[str, list] = {}
        for group in groups:
            for owner in group["owners"]:
                found.setdefault(owner, []).append(group["lr"])
        trainable = [n for n in canonical(judged(tree)) if n not in frozen]
        assert trainable or not found, "a tree with every parameter frozen gives no group"
        for name in trainable:
            got, lr = found.get(name, []), lr_for(name, table, default_lr)
            if not got:
                fail(f"{doing}: trainable parameter {name!r} is in no group, so the optimizer would never train it. "
                     "Parameters matching no prefix belong in the default group with default_lr.")
            if len(got) > 1:
                fail(f"{doing}: parameter {name!r} is in more than one group (lrs {got}). {ONE_GROUP}")
            if got[0] != lr:
                best = max((p for p in table if matches(name, p)), key=len, default=None)
                stray = [p for p in table if p in name and not matches(name, p)]
                why = (DOTTED if stray and got[0] in [table[p] for p in stray] else
                       f"The longest matching prefix wins ({best!r})." if best is not None else
                       "Parameters matching no prefix belong in the default group with default_lr.")
                fail(f"{doing}: parameter {name!r} is in a group with lr {got[0]!r}, expected {lr!r}. {why}")


@given(drawn=batches(GROUP_CASES, 3, 8))
@examples(3)
def test_group_names_name_the_group_params(kata, device, drawn):
    """In every group, names[i] is the model's name for params[i], the very Parameter object."""
    for (tree, _, frozen, _, _), doing, seen in run_groups(kata, device, drawn):
        groups = groups_seen(seen, doing)
        assert any(group["owners"] for group in groups) or len(frozen) == len(canonical(judged(tree)))
        for group in groups:
            for name, owner in zip(group["names"], group["owners"], strict=True):
                if name != owner:
                    fail(f"{doing}: a group lists the name {name!r} next to the parameter {owner!r}: names[i] must "
                         f"be the name of params[i]. {FIRST_NAME}")


@given(drawn=batches(GROUP_CASES, 5, 8))
@examples(2)
def test_frozen_parameters_are_left_out_of_the_groups(kata, device, drawn):
    """No frozen parameter (requires_grad False) appears in any group."""
    for (_, _, frozen, _, _), doing, seen in run_groups(kata, device, drawn, some_frozen=True):
        groups = groups_seen(seen, doing)
        handed = sorted({owner for group in groups for owner in group["owners"] if owner in frozen})
        if handed:
            fail(f"{doing}: the frozen parameters {handed} are in the groups. {FROZEN_OUT}")


@given(drawn=batches(GROUP_CASES, 5, 8))
@examples(2)
def test_empty_groups_are_left_out(kata, device, drawn):
    """A prefix with no trainable parameter left, or a default group with nothing in it, gives no group."""
    for _, doing, seen in run_groups(kata, device, drawn):
        for group in groups_seen(seen, doing):
            if not group["owners"]:
                fail(f"{doing} returned an empty group (lr={group['lr']!r}): leave out empty groups, such as a prefix "
                     "whose parameters are all frozen, a prefix matching nothing, or a default group with no "
                     "parameter left.")


@given(drawn=batches(GROUP_CASES, 5, 8))
@examples(2)
def test_an_sgd_step_over_the_groups_moves_only_trainable_parameters(kata, device, drawn):
    """After warm-up gradients, freezing and one SGD step, frozen parameters stay put; the rest move by -lr * grad."""
    for (tree, _, frozen, table, default_lr), doing, seen in run_groups(kata, device, drawn, ", then one SGD step",
                                                                         some_frozen=True):
        groups_seen(seen, doing)
        check_step(seen["after"], tree, device, frozen, table, default_lr, doing, "the SGD step")


def check_step(after, tree, device, frozen, table, default_lr, doing, step):
    model = judged(tree, device)
    assert sorted(after) == sorted(canonical(model))
    for k, (name, p) in enumerate(model.named_parameters()):
        p = p.detach().double()
        if name in frozen:
            if not torch.equal(after[name].double(), p):
                fail(f"{doing}: frozen parameter {name!r} changed in {step}. {FROZEN_OUT}")
            continue
        lr = lr_for(name, table, default_lr)
        expected = p - lr * 2 * (k + 1) * p  # two backward passes accumulated (k + 1) * p each
        assert_close(after[name].double(), expected, f"{name} after {step} of {doing}",
                     why=f"A trainable parameter moves by -lr * grad with its own group's lr ({lr}). {ONE_GROUP}")


@given(drawn=batches(GROUP_CASES, 2, 5))
@examples(2)
def test_groups_work_as_given_with_torch_optim_sgd(kata, device, drawn):
    """The groups go straight into torch.optim.SGD: its step moves each trainable parameter, never a frozen one."""
    for (tree, _, frozen, table, default_lr), doing, seen in run_groups(
            kata, device, drawn, ", then torch.optim.SGD(groups).step()", optimizer=True):
        raised = seen["stepped"]["raised"]
        if raised is not None:
            fail(f"{doing}: torch.optim.SGD raised {raised['type']}: {raised['message']}. The list param_groups "
                 "returns must be usable as an optimizer's param groups as it is (params in an ordered list). "
                 f"{ONE_GROUP}")
        check_step(seen["after"], tree, device, frozen, table, default_lr, doing, "torch.optim.SGD's step")


# ------------------------------------------------------------------------------------------ specs: counting


def oracle_counts(tree, frozen):
    model = judged(tree)
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for name, p in model.named_parameters() if name not in frozen)
    twice = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    state = sum(t.numel() for t in model.state_dict().values())
    return total, trainable, twice, state


@given(drawn=batches(TREES_WITH_BUFFERS, 3, 8))
@examples(3)
def test_count_parameters_counts_each_registered_parameter_once(kata, device, drawn):
    """count_parameters(model) is the total numel of model.parameters(): a shared parameter once, no buffers."""
    cases = [(tree, device, []) for tree in drawn]
    doings = [f"count_parameters(model) on {where(tree)}" for tree in drawn]
    for ((tree, _, _), seen), doing in zip(run_batch(kata, counts, cases, doings), doings):
        total, _, twice, state = oracle_counts(tree, set())
        got = seen["all"]
        if isinstance(got, bool) or not isinstance(got, int):
            fail(f"{doing} returned {got!r} ({type(got).__name__}): return a plain int.")
        if got == total:
            continue
        hint = ("Running statistics, masks and other buffers are buffers, not parameters (state_dict() lists both)."
                if got == state and state != twice else SHARED_ONCE if got > total else
                "Sum numel() over model.parameters().")
        fail(f"{doing} returned {got}, expected {total}. {hint}")


@given(drawn=batches(FREEZE_CASES, 5, 8))
@examples(2)
def test_count_parameters_trainable_only_counts_what_trains(kata, device, drawn):
    """With trainable_only=True (keyword or positional) only parameters with requires_grad count; without, all."""
    cases = [(tree, device, frozen or names[:1]) for tree, names, frozen, _ in drawn]
    doings = [f"count_parameters(model, trainable_only=True) on {where(tree)} with {sorted(frozen)} frozen"
              for tree, _, frozen in cases]
    for ((tree, _, frozen), seen), doing in zip(run_batch(kata, counts, cases, doings), doings):
        total, trainable, _, _ = oracle_counts(tree, set(frozen))
        for form in ("trainable", "positional"):
            if seen[form] != trainable:
                fail(f"{doing} returned {seen[form]!r}, expected {trainable}: with trainable_only, count only the "
                     "parameters with requires_grad (given "
                     f"{'by keyword' if form == 'trainable' else 'positionally'}).")
        if seen["all"] != total:
            fail(f"count_parameters(model) on {where(tree)} with {sorted(frozen)} frozen returned {seen['all']!r}, "
                 f"expected {total}: without trainable_only, frozen parameters count too.")


# ------------------------------------------------------------------------------------------ specs: arguments


@given(drawn=batches(GROUP_CASES, 4, 7))
@examples(2)
def test_helpers_leave_the_callers_arguments_alone(kata, device, drawn):
    """freeze, unfreeze and param_groups never modify the caller's prefixes list or lr_by_prefix dict."""
    cases = []
    for tree, names, _, table, default_lr in drawn:
        prefixes = [p for p in prefix_candidates(names) if p.count(".") == 0][::-1][:3]
        cases.append((tree, device, prefixes, {**table, "missing.prefix": 0.5}, default_lr))
    doings = [f"freeze, unfreeze and param_groups(model, {table!r}, {default_lr!r}) on a fresh {where(tree)} each"
              for tree, _, _, table, default_lr in cases]
    for (tree, _, prefixes, table, default_lr), changed in run_batch(kata, arguments_kept, cases, doings):
        for fn in ("freeze", "unfreeze"):
            if changed[fn]:
                fail(f"{fn}(model, {prefixes!r}) on {where(tree)} modified the caller's list of prefixes: copy it, "
                     "never sort or edit it in place.")
        if changed["param_groups"]:
            fail(f"{group_doing(tree, [], table, default_lr)} modified the caller's lr_by_prefix dict: read it, never "
                 "edit it.")
