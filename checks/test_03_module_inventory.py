"""Kata 03: inventory(module), what nn.Module tracks and what it misses.

Every spec draws a module tree with Hypothesis as a plain description (layer kinds and sizes, nesting,
tied weights, shared buffers and submodules, non-persistent buffers, names registered as None, private
names, plain Python containers, subclasses of built-in layers, layers without bias or parameters). A probe
builds that tree in the subject and runs the learner's inventory() on it; the judge builds its own copy
and takes the expected names from PyTorch itself: named_parameters(), named_buffers(), state_dict() keys,
named_modules(), and for "unregistered" the attributes its builder planted outside the registries.

Contract clauses, and the specs that enforce them:

C1  inventory(module) returns a dict with exactly the five keys, each a sorted list of str dotted names;
    calling it twice gives the same answer.   -> inventory_returns_the_five_keys_as_sorted_lists_of_names
C2  "parameters" is exactly the names named_parameters() gives.   -> parameters_are_the_names_named_parameters_gives
C3  A tied Parameter (one object under two names) is listed once, under its first name in named_modules()
    order.   -> a_tied_parameter_is_listed_once_under_its_first_name
C4  Names registered as None (Linear(bias=False), register_parameter/register_buffer(name, None),
    BatchNorm without running stats) are never listed.   -> parameters_and_buffers_set_to_none_are_not_listed
C5  "buffers" is the persistent buffers: exactly the buffer names named_buffers() gives that state_dict()
    saves.   -> buffers_are_the_persistent_ones_in_the_state_dict
C6  "non_persistent_buffers" is the buffers registered with persistent=False, anywhere in the tree.
    -> non_persistent_buffers_are_listed_on_their_own
C7  A buffer shared by two modules is listed once, under the name named_buffers() gives it.
    -> a_shared_buffer_is_listed_once_under_its_named_buffers_name
C8  "submodules" is every descendant as named_modules() names it, the root excluded; a shared submodule is
    listed once.   -> submodules_are_every_descendant_but_not_the_root, a_shared_submodule_is_listed_once
C9  "unregistered" lists, anywhere in the registered tree, each instance attribute holding a plain tensor,
    private names included.   -> a_plain_tensor_attribute_is_unregistered,
    unregistered_tensors_inside_submodules_are_found, private_names_count_like_any_other
C10 ... and each plain list, tuple or dict holding at least one nn.Module (the attribute itself, not its
    items).   -> modules_in_a_plain_list_are_unregistered, modules_in_a_plain_tuple_are_unregistered,
    modules_in_a_plain_dict_are_unregistered
C11 Modules in plain containers are outside the tree: not submodules, their parameters not listed.
    -> modules_in_a_plain_container_are_outside_the_tree
C12 Registered members, nn.Module's own bookkeeping (vars(nn.Module())) and containers of plain data are
    never unregistered.   -> registered_members_and_bookkeeping_are_not_unregistered,
    plain_containers_without_modules_are_not_unregistered
C13 Subclasses of built-in layers, and built-in layers themselves, are inventoried like any module.
    -> subclasses_of_built_in_layers_are_inventoried_like_any_module
C14 inventory only looks: the module's parameters, buffers, submodules, attributes and values are the same
    afterwards.   -> inventory_leaves_the_module_unchanged
"""

import functools
import itertools
import random

import torch
from torch import nn

from kata_runner.asserts import assert_keys, each, fail
from kata_runner.batching import distinct_batches as batches
from kata_runner.draw import examples, given, st
from kata_runner.probing import names, probe, snapshot
from kata_runner.subject import LearnerError, reset_state

KEYS = ("parameters", "buffers", "non_persistent_buffers", "submodules", "unregistered")
# What every nn.Module keeps in its instance dict: registries and hook tables, never "unregistered".
BOOKKEEPING = frozenset(vars(nn.Module()))


# ------------------------------------------------------------------------------------------ the trees
# A tree is described by plain values; `build` turns a description into modules, the same way in the
# subject (for the learner) and in the judge (for the oracle).


class Block(nn.Module):
    """A user-defined module with no state of its own: whatever the description plants."""


class ScaledLinear(nn.Linear):
    """A subclass of a built-in layer that adds state in __init__: a persistent buffer, a private
    non-persistent one, and a plain tensor attribute (unregistered)."""

    def __init__(self, n, device):
        super().__init__(n, n, device=device)
        self.register_buffer("gain", torch.ones(n, device=device))
        self.register_buffer("_scratch", torch.zeros(n, device=device), persistent=False)
        self.cache = torch.zeros(n, device=device)


class Stack(nn.Sequential):
    """A subclass of a built-in container."""


LEAVES = ("linear", "embedding", "batchnorm", "layernorm", "relu", "dropout", "scaled_linear")
CONTAINERS = ("block", "sequential", "stack", "modulelist", "moduledict")
NAMED = ("block", "moduledict")  # children with chosen names; the others number theirs 0, 1, ...
PUBLIC = ("alpha", "beta", "delta", "scale", "shift", "mask", "table", "steps", "memo", "stats", "extra", "head")
PRIVATE = ("_alpha", "_memo", "_state", "_hidden", "_table")


def _layer(kind, n, opts, device):
    if kind == "linear":
        return nn.Linear(n, n + 1, bias=opts.get("bias", True), device=device)
    if kind == "embedding":
        return nn.Embedding(n + 2, n, device=device)
    if kind == "batchnorm":
        return nn.BatchNorm1d(n, affine=opts.get("affine", True), track_running_stats=opts.get("track", True),
                              device=device)
    if kind == "layernorm":
        return nn.LayerNorm(n, elementwise_affine=opts.get("affine", True), device=device)
    if kind == "relu":
        return nn.ReLU()
    if kind == "dropout":
        return nn.Dropout(0.1)
    if kind == "scaled_linear":
        return ScaledLinear(n, device)
    return {"block": Block, "sequential": nn.Sequential, "stack": Stack, "modulelist": nn.ModuleList,
            "moduledict": nn.ModuleDict}[kind]()


def _container_value(kind, items, n, device):
    values = [nn.Linear(n, n, device=device) if item == "module" else f"item{i}" for i, item in enumerate(items)]
    if kind == "dict":
        return {f"k{i}": v for i, v in enumerate(values)}
    return tuple(values) if kind == "tuple" else list(values)


def build(desc, device):
    """The module tree a description stands for, and what was planted outside the registries:
    {id(module): [(attribute, what)]}, what being "tensor", "list", "tuple" or "dict"."""
    planted = {}
    modules = []  # (build path, module), in build order

    def make(node, path):
        n = node["size"]
        module = _layer(node["kind"], n, node.get("opts", {}), device)
        modules.append((path, module))
        mine = planted.setdefault(id(module), [])
        if node["kind"] == "scaled_linear":
            mine.append(("cache", "tensor"))
        for name, child in node.get("children", []):
            module.add_module(name, make(child, f"{path}.{name}" if path else name))
        for name, shape in node.get("params", []):
            module.register_parameter(name, None if shape is None else nn.Parameter(torch.zeros(shape, device=device)))
        for name, shape, persistent in node.get("buffers", []):
            value = None if shape is None else torch.zeros(shape, device=device)
            module.register_buffer(name, value, persistent=persistent)
        for name in node.get("plain", []):
            setattr(module, name, torch.zeros(n, device=device))
            mine.append((name, "tensor"))
        for name, kind, items in node.get("containers", []):
            setattr(module, name, _container_value(kind, items, n, device))
            if "module" in items:
                mine.append((name, kind))
        return module

    root = make(desc["root"], "")
    buffers = [b for _, m in modules for b in m._buffers.values() if b is not None]
    tied = set()  # a tied Parameter is never replaced afterwards: it keeps both of its names
    for k, (i, j, replace) in enumerate(desc.get("ties", [])):
        params = [p for _, m in modules for p in m._parameters.values() if p is not None]
        if not params:
            break
        param = params[i % len(params)]
        tied.add(param)
        _, dst = modules[j % len(modules)]
        own = [name for name, p in dst._parameters.items() if p is not None and p not in tied]
        setattr(dst, own[0] if replace and own else f"tied{k}", param)
    for k, (i, j, persistent) in enumerate(desc.get("shared_buffers", [])):
        if buffers:
            modules[j % len(modules)][1].register_buffer(f"shared{k}", buffers[i % len(buffers)], persistent=persistent)
    for k, (i, j) in enumerate(desc.get("shared_modules", [])):
        src_path, src = modules[1:][i % (len(modules) - 1)] if len(modules) > 1 else ("", None)
        dst_path, dst = modules[j % len(modules)]
        if src is not None and not (dst_path + ".").startswith(src_path + "."):
            dst.add_module(f"again{k}", src)
    return root, planted


# ------------------------------------------------------------------------------------------ probes


def _fingerprint(model):
    return {
        "parameters": names(model.named_parameters(remove_duplicate=False)),
        "buffers": names(model.named_buffers(remove_duplicate=False)),
        "modules": names(model.named_modules(remove_duplicate=False)),
        "attributes": {prefix: sorted(vars(sub)) for prefix, sub in model.named_modules()},
        "state": snapshot(model.state_dict()),
        "training": [sub.training for _, sub in model.named_modules()],
    }


@probe
def take_inventory(impl, descs, device, fingerprints=False):
    """For each described tree: inventory() twice (and, if asked, the module's fingerprint before and after).
    Every tree starts from the state a probe call starts from (seed 0, torch's defaults), as if it had its own
    call."""
    seen = []
    for desc in descs:
        reset_state(0)
        model, _ = build(desc, device)
        before = _fingerprint(model) if fingerprints else None
        result = impl.inventory(model)
        again = impl.inventory(model)
        seen.append({"result": result, "again": again, "before": before,
                     "after": _fingerprint(model) if fingerprints else None})
    return seen


# ------------------------------------------------------------------------------------------ batches


def run_batch(kata, descs, device, fingerprints=False):
    """One round trip for the whole batch. When the learner's code raises, each tree is run again on its own, so
    that the message names the tree that raises (the batch's own message names only its first)."""
    more = f" (and {len(descs) - 1} more drawn trees)" if len(descs) > 1 else ""
    doing = f"inventory() on {_words(descs[0])}{more}"
    try:
        return each(descs, kata.run(take_inventory, descs, device, fingerprints, doing=doing))
    except LearnerError:
        if len(descs) == 1:
            raise
        for desc in descs:
            kata.run(take_inventory, [desc], device, fingerprints, doing=f"inventory() on {_words(desc)}")
        raise


# ------------------------------------------------------------------------------------------ drawing trees


# Strategies are built once (one built inside a composite is validated again on every draw): the constant ones
# here, those that depend on a tree's features once per feature set (functools.cache).
SIZES = st.integers(1, 4)
SHAPES = st.integers(1, 3)
COUNTS = {(least, most): st.integers(least, most) for least in (0, 1) for most in (2, 3)}
FLAG = st.booleans()
PICK = st.integers(0, 50)
INDEX = st.integers(0, 2**16 - 1)
MEMBER_COUNTS = st.sampled_from(list(itertools.product(range(3), repeat=4)))  # parameters, buffers, plain, boxes
NONE = (0, 0, 0, 0)
KINDS = {True: st.sampled_from(LEAVES + CONTAINERS), False: st.sampled_from(LEAVES)}
BOX_KINDS = ("list", "tuple", "dict")
DATA_KINDS = st.lists(st.sampled_from(BOX_KINDS), min_size=1, max_size=3)
HOLDER_KINDS = st.sampled_from(("block", "sequential", "moduledict"))
BUILTIN_KINDS = st.sampled_from(("linear", "batchnorm", "layernorm"))
ITEMS = {holds: st.lists(st.sampled_from(["module", "data"] if holds else ["data"]), max_size=3)
         for holds in (False, True)}


def pick(draw, values):
    """One of `values` (a sequence known only once drawn); shrinks towards the first."""
    return values[draw(INDEX) % len(values)]


def _names(draw, count, private):
    """`count` distinct attribute names, in one draw (the names themselves are never what a spec is about)."""
    return random.Random(draw(INDEX)).sample(PUBLIC + (PRIVATE if private else ()), count)


@functools.cache
def nodes(depth, f):
    """One node of a tree; `f` is the (frozen) set of features this tree may use."""
    return _nodes(depth, f)


@st.composite
def _nodes(draw, depth, f):
    kind = draw(KINDS[depth > 0])
    node = {"kind": kind, "size": draw(SIZES), "opts": {}, "children": [], "params": [], "buffers": [],
            "plain": [], "containers": []}
    if kind == "linear":
        node["opts"]["bias"] = draw(FLAG) if "nones" in f else True
    if kind in ("batchnorm", "layernorm"):
        node["opts"]["affine"] = draw(FLAG) if "nones" in f else True
        node["opts"]["track"] = draw(FLAG) if "nones" in f else True
    n_children = draw(COUNTS[0, 3]) if kind in CONTAINERS else 0
    n_params, n_buffers, n_plain, n_boxes = draw(MEMBER_COUNTS) if kind in ("block",) or "anywhere" in f else NONE
    labels = _names(draw, n_children + n_params + n_buffers + n_plain + n_boxes, "private" in f)
    for i in range(n_children):
        name = labels.pop() if kind in NAMED else str(i)
        node["children"].append([name, draw(nodes(depth - 1, f))])
    for _ in range(n_params):
        none = "nones" in f and draw(FLAG)
        node["params"].append([labels.pop(), None if none else [draw(SHAPES)]])
    for _ in range(n_buffers):
        none = "nones" in f and draw(FLAG)
        persistent = draw(FLAG) if "non_persistent" in f else True
        node["buffers"].append([labels.pop(), None if none else [draw(SHAPES)], persistent])
    for _ in range(n_plain if "plain" in f else 0):
        node["plain"].append(labels.pop())
    for _ in range(n_boxes if "containers" in f else 0):
        node["containers"].append([labels.pop(), *draw(_box(BOX_KINDS))])
    return node


@functools.cache
def _box(kinds, modules=None):
    return _boxes(st.sampled_from(kinds), modules)


@st.composite
def _boxes(draw, kinds, modules):
    kind = draw(kinds)
    holds = draw(FLAG) if modules is None else modules
    items = draw(ITEMS[holds])
    if holds and "module" not in items:
        items.insert(draw(INDEX) % (len(items) + 1), "module")
    return [kind, items]


def trees(*features, need=()):
    """A tree description: a Block root, nesting up to three levels, and links between its parts.
    `features` are what it may contain; `need` are planted for sure (in the root, or nested: "deep")."""
    return _trees(frozenset(features) | {n for n in need if n != "deep"}, need)


@st.composite
def _trees(draw, f, need):
    root = {"kind": "block", "size": draw(SIZES), "opts": {}, "children": [], "params": [],
            "buffers": [], "plain": [], "containers": []}
    used = set()
    pool = PUBLIC + (PRIVATE if "private" in f else ())
    for _ in range(draw(COUNTS[1, 3])):
        name = pick(draw, pool)
        if name not in used:
            used.add(name)
            root["children"].append([name, draw(nodes(2, f))])
    # Where the needed things go: the root itself, or a block nested one or two levels down.
    home = root
    if "deep" in need:
        inner = {"kind": "block", "size": 2, "opts": {}, "children": [], "params": [], "buffers": [], "plain": [],
                 "containers": []}
        holder = {"kind": draw(HOLDER_KINDS), "size": 2, "opts": {},
                  "children": [["0" if draw(FLAG) else "inner", inner]], "params": [], "buffers": [],
                  "plain": [], "containers": []}
        if holder["kind"] == "sequential":
            holder["children"][0][0] = "0"
        root["children"].append(["deep", holder] if "deep" not in used else ["deep_", holder])
        home = inner if draw(FLAG) else holder
    taken = {name for name, *_ in home["children"]}

    def fresh(private=False):
        name = pick(draw, [n for n in (PRIVATE if private else PUBLIC) if n not in taken])
        taken.add(name)
        return name

    if "params" in need:
        home["params"].append([fresh(), [2]])
        home["children"].append([fresh(), inner_leaf("linear")])
    if "plain" in need:
        home["plain"].append(fresh("private" in need))
    if "private" in need:
        home["plain"].append(fresh(True))
        home["params"].append([fresh(True), [2]])
        home["children"].append([fresh(True), {**inner_leaf("linear"), "size": 2}])
    for kind in BOX_KINDS:
        if kind in need:
            home["containers"].append([fresh(), *draw(_box((kind,), True))])
    if "data" in need:
        for kind in draw(DATA_KINDS):
            home["containers"].append([fresh(), *draw(_box((kind,), False))])
    if "nones" in need:
        home["params"].append([fresh(), None])
        home["buffers"].append([fresh(), None, draw(FLAG)])
        home["children"].append([fresh(), {**inner_leaf("linear"), "opts": {"bias": False}}])
    if "non_persistent" in need:
        home["buffers"].append([fresh(), [2], False])
    if "buffers" in need:
        home["buffers"].append([fresh(), [3], True])
    if "subclass" in need:
        home["children"].append([fresh(), inner_leaf("scaled_linear")])
        stack = {**inner_leaf("stack"), "children": [["0", inner_leaf("linear")], ["1", inner_leaf("scaled_linear")]]}
        home["children"].append([fresh(), stack])
        builtin = inner_leaf(draw(BUILTIN_KINDS))
        builtin["plain"] = [pick(draw, PUBLIC)]
        home["children"].append([fresh(), builtin])
    if "ties" in need:
        home["children"].append([fresh(), inner_leaf("linear")])
    desc = {"root": root, "ties": [], "shared_buffers": [], "shared_modules": []}
    if "ties" in f:
        count = draw(COUNTS[int("ties" in need), 2])
        desc["ties"] = [[draw(PICK), draw(PICK), draw(FLAG)] for _ in range(count)]
    if "shared_buffers" in f:
        if "shared_buffers" in need:
            home["buffers"].append([fresh(), [2], draw(FLAG)])
        count = draw(COUNTS[int("shared_buffers" in need), 2])
        desc["shared_buffers"] = [[draw(PICK), draw(PICK), draw(FLAG)] for _ in range(count)]
    if "shared_modules" in f:
        if "shared_modules" in need:
            desc["shared_modules"] = [[draw(PICK), 0]]  # into the root: always allowed
        elif draw(FLAG):
            desc["shared_modules"] = [[draw(PICK), draw(PICK)]]
    return desc


def inner_leaf(kind):
    return {"kind": kind, "size": 2, "opts": {}, "children": [], "params": [], "buffers": [], "plain": [],
            "containers": []}


EVERYTHING = ("nones", "non_persistent", "plain", "containers", "private", "anywhere", "ties", "shared_buffers",
              "shared_modules")


# ------------------------------------------------------------------------------------------ the oracle


def _qualified(prefix, name):
    return f"{prefix}.{name}" if prefix else name


class Truth:
    """What PyTorch itself says about a tree (built in the judge), and facts to explain a wrong answer."""

    def __init__(self, desc, device):
        model, planted = build(desc, device)
        saved = set(model.state_dict())
        buffers = names(model.named_buffers())
        modules = list(model.named_modules())
        self.expected = {
            "parameters": names(model.named_parameters()),
            "buffers": [name for name in buffers if name in saved],
            "non_persistent_buffers": [name for name in buffers if name not in saved],
            "submodules": [name for name, _ in modules if name],
            "unregistered": [_qualified(prefix, name) for prefix, sub in modules
                             for name, _ in planted.get(id(sub), [])],
        }
        self.planted = {_qualified(prefix, name): what for prefix, sub in modules
                        for name, what in planted.get(id(sub), [])}
        self.builtin_homes = {_qualified(prefix, name) for prefix, sub in modules
                              if type(sub).__module__.startswith("torch.nn") for name, _ in planted.get(id(sub), [])}
        first = {}
        for name, tensor in model.named_parameters(remove_duplicate=False):
            first.setdefault(id(tensor), name)
        self.param_alias = {name: first[id(t)] for name, t in model.named_parameters(remove_duplicate=False)
                            if first[id(t)] != name}
        first = {}
        for name, tensor in model.named_buffers(remove_duplicate=False):
            first.setdefault(id(tensor), name)
        self.buffer_alias = {name: first[id(t)] for name, t in model.named_buffers(remove_duplicate=False)
                             if first[id(t)] != name}
        first = {}
        for name, sub in model.named_modules(remove_duplicate=False):
            first.setdefault(id(sub), name)
        self.module_alias = {name: first[id(m)] for name, m in model.named_modules(remove_duplicate=False)
                             if first[id(m)] != name}
        self.nones = {_qualified(prefix, name) for prefix, sub in model.named_modules(remove_duplicate=False)
                      for registry in (sub._parameters, sub._buffers) for name, v in registry.items() if v is None}
        self.registered = {*self.expected["parameters"], *buffers, *self.expected["submodules"]}
        self.data = {_qualified(prefix, name) for prefix, sub in modules for name, value in vars(sub).items()
                     if isinstance(value, (list, tuple, dict)) and name not in BOOKKEEPING}
        self.data -= set(self.planted)

    def explain(self, key, got):
        """Why `got` differs from the expected list, in the kata's concepts."""
        want = set(self.expected[key])
        extra, missing = set(got) - want, want - set(got)
        notes = []
        hidden = [n for n in extra if any(n.startswith(box + ".") for box, w in self.planted.items() if w != "tensor")]
        if hidden:
            notes.append(f"{sorted(hidden)[0]!r} lies inside a plain container: that module is not part of the tree "
                         "(nn.Module never registered it), so neither it nor its parameters are tracked.")
        aliases = {**self.param_alias} if key == "parameters" else {**self.buffer_alias} if "buffers" in key else {}
        if key == "submodules":
            aliases = self.module_alias
        for name in sorted(extra & set(aliases)):
            kind = {"parameters": "tied Parameter", "submodules": "shared submodule"}.get(key, "shared buffer")
            notes.append(f"{name!r} is another name of the {kind} listed as {aliases[name]!r}: one object is "
                         f"listed once, under its first name (the one {_api(key)} gives).")
            break
        if duplicated := sorted({n for n in got if got.count(n) > 1}):
            notes.append(f"{duplicated[0]!r} is listed more than once.")
        if nones := sorted(extra & self.nones):
            notes.append(f"{nones[0]!r} was registered as None: it holds no tensor, so it is not listed.")
        if key == "buffers" and (wrong := sorted(extra & set(self.expected["non_persistent_buffers"]))):
            notes.append(f"{wrong[0]!r} is a non-persistent buffer (persistent=False): state_dict() leaves it out.")
        if key == "non_persistent_buffers" and (wrong := sorted(extra & set(self.expected["buffers"]))):
            notes.append(f"{wrong[0]!r} is a persistent buffer: state_dict() saves it.")
        if key == "submodules":
            if "" in got:
                notes.append("the root itself (named '') is not a submodule.")
            if deep := sorted(n for n in missing if "." in n):
                notes.append(f"{deep[0]!r} is missing: submodules are every descendant (grandchildren too), "
                             "not just the direct children.")
        if key == "unregistered":
            notes += self._explain_unregistered(extra, missing)
        return " ".join(notes)

    def _explain_unregistered(self, extra, missing):
        notes = []
        if internal := sorted(n for n in extra if n.rpartition(".")[2] in BOOKKEEPING):
            notes.append(f"{internal[0]!r} is nn.Module's own bookkeeping (the registries and hook tables every "
                         "module keeps in vars(), see vars(nn.Module())), not something left unregistered.")
        if data := sorted(extra & self.data):
            notes.append(f"{data[0]!r} is a container of ordinary data (no nn.Module inside): not unregistered.")
        if tracked := sorted(extra & self.registered):
            notes.append(f"{tracked[0]!r} is registered (parameter, buffer or submodule).")
        for name in sorted(missing):
            what, last = self.planted.get(name), name.rpartition(".")[2]
            if what in ("list", "tuple", "dict"):
                notes.append(f"{name!r} is a plain {what} holding modules (among other items): invisible to "
                             "nn.Module, it must be reported.")
            elif what == "tensor":
                notes.append(f"{name!r} is a plain tensor attribute: neither a parameter nor a buffer.")
            if "." in name:
                notes.append("Unregistered attributes hide inside submodules too: scan every module of "
                             "named_modules(), with its dotted path.")
            if last.startswith("_"):
                notes.append(f"{name!r} has a private name, but it is still an unregistered tensor or container: "
                             "only nn.Module's bookkeeping (vars(nn.Module())) is skipped.")
            if name in self.builtin_homes:
                notes.append(f"{name!r} sits on a built-in layer: built-in layers are modules like any other.")
            break
        return notes


def _api(key):
    return {"parameters": "named_parameters()", "submodules": "named_modules()"}.get(key, "named_buffers()")


def _words(desc):
    """The tree in a few words, for failure messages."""
    counts = {"levels": 0, "modules": 0}

    def walk(node, depth):
        counts["modules"] += 1
        counts["levels"] = max(counts["levels"], depth)
        for _, child in node.get("children", []):
            walk(child, depth + 1)

    walk(desc["root"], 0)
    links = [f"{len(desc[k])} {k.replace('_', ' ')}" for k in ("ties", "shared_buffers", "shared_modules") if desc[k]]
    return (f"a tree of {counts['modules']} modules, {counts['levels']} levels deep"
            + (f" ({', '.join(links)})" if links else ""))


def inventories(kata, descs, device, fingerprints=False):
    """(desc, what the learner's inventory() gave, checked for its shape, what PyTorch says) for each tree."""
    found = []
    for desc, seen in run_batch(kata, descs, device, fingerprints):
        result, words = seen["result"], _words(desc)
        if not isinstance(result, dict):
            fail(f"inventory() on {words} should return a dict of five lists of names, got {type(result).__name__}.")
        for key in KEYS:
            if key not in result:
                fail(f"inventory() on {words} has no key {key!r}: the result needs exactly the keys {list(KEYS)}.")
            value = result[key]
            if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
                fail(f"inventory()[{key!r}] on {words} should be a list of dotted names (str), got {value!r}.")
        found.append((desc, seen, Truth(desc, device)))
    return found


def expect(seen, truth, key, desc, *, why):
    got = seen["result"][key]
    if sorted(got) != sorted(truth.expected[key]):
        note = truth.explain(key, got)
        assert_keys(got, truth.expected[key], f"inventory()[{key!r}] on {_words(desc)}",
                    why=f"{note} {why}" if note else why)


# ------------------------------------------------------------------------------------------ specs: shape


@given(drawn=batches(trees(*EVERYTHING), 2, 5))
@examples(2)
def test_inventory_returns_the_five_keys_as_sorted_lists_of_names(kata, device, drawn):
    """The result is a dict with exactly the five keys, each a sorted list of dotted names, the same twice."""
    for desc, seen, _ in inventories(kata, drawn, device):
        words = _words(desc)
        assert_keys(seen["result"].keys(), KEYS, f"the keys of inventory()'s result on {words}")
        for key in KEYS:
            value = seen["result"][key]
            if value != sorted(value):
                fail(f"inventory()[{key!r}] on {words} is not sorted: {value}. Return sorted(names), a stable order.")
        if seen["again"] != seen["result"]:
            fail(f"a second inventory() of the same module ({words}) gave a different answer: inventory must only "
                 "look.")


# ------------------------------------------------------------------------------------------ specs: parameters


@given(drawn=batches(trees("nones", "private", "anywhere", "shared_modules", need=("params", "deep")), 2, 5))
@examples(2)
def test_parameters_are_the_names_named_parameters_gives(kata, device, drawn):
    """parameters lists every Parameter in the tree, by the dotted name named_parameters() gives it."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.expected["parameters"]
        expect(seen, truth, "parameters", desc,
               why="Parameters are collected from every module of the tree (_parameters of each, prefixed with the "
               "module's dotted path), exactly as named_parameters() reports them.")


@given(drawn=batches(trees("anywhere", "shared_modules", need=("ties",)), 2, 5))
@examples(2)
def test_a_tied_parameter_is_listed_once_under_its_first_name(kata, device, drawn):
    """A tied Parameter (decoder.weight = encoder.weight) is listed once, under its first name."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.param_alias, "the drawn tree has no tied parameter"
        expect(seen, truth, "parameters", desc,
               why="A tied weight is ONE Parameter with two names: named_parameters() yields it once, under the first "
               "name in named_modules() order. Remember the Parameters already listed (by identity).")


@given(drawn=batches(trees("anywhere", "non_persistent", need=("nones",)), 2, 5))
@examples(2)
def test_parameters_and_buffers_set_to_none_are_not_listed(kata, device, drawn):
    """Names registered as None (bias=False, register_buffer(name, None)) hold no tensor: not listed."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.nones, "the drawn tree has no None entry"
        why = ("A name registered as None (register_parameter('extra', None), register_buffer('mask', None), "
               "Linear(bias=False)) holds no tensor: named_parameters(), named_buffers() and state_dict() skip it.")
        for key in ("parameters", "buffers", "non_persistent_buffers"):
            expect(seen, truth, key, desc, why=why)


# ------------------------------------------------------------------------------------------ specs: buffers


@given(drawn=batches(trees("anywhere", "non_persistent", "nones", need=("buffers", "non_persistent")), 2, 5))
@examples(2)
def test_buffers_are_the_persistent_ones_in_the_state_dict(kata, device, drawn):
    """buffers lists the persistent buffers only: exactly those that state_dict() saves."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.expected["buffers"], "the drawn tree has no persistent buffer"
        expect(seen, truth, "buffers", desc,
               why="Only persistent buffers are saved in state_dict(); those registered with persistent=False are "
               "non-persistent buffers (see _non_persistent_buffers_set) and belong under 'non_persistent_buffers'.")


@given(drawn=batches(trees("anywhere", "non_persistent", "nones", need=("non_persistent", "deep")), 2, 5))
@examples(2)
def test_non_persistent_buffers_are_listed_on_their_own(kata, device, drawn):
    """non_persistent_buffers lists the buffers registered with persistent=False, anywhere in the tree."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.expected["non_persistent_buffers"], "the drawn tree has no non-persistent buffer"
        expect(seen, truth, "non_persistent_buffers", desc,
               why="A buffer registered with persistent=False is non-persistent: it moves with .to() but is left "
               "out of state_dict(). Its name is in its module's _non_persistent_buffers_set.")


@given(drawn=batches(trees("anywhere", "non_persistent", need=("shared_buffers",)), 2, 5))
@examples(2)
def test_a_shared_buffer_is_listed_once_under_its_named_buffers_name(kata, device, drawn):
    """A buffer registered in two modules is one tensor: listed once, under the name named_buffers() gives it."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.buffer_alias, "the drawn tree has no shared buffer"
        why = ("A shared buffer is ONE tensor registered under two names: named_buffers() yields it once, under its "
               "first name, and it is persistent or not as that name was registered.")
        for key in ("buffers", "non_persistent_buffers"):
            expect(seen, truth, key, desc, why=why)


# ------------------------------------------------------------------------------------------ specs: submodules


@given(drawn=batches(trees("anywhere", "private", need=("deep",)), 2, 5))
@examples(2)
def test_submodules_are_every_descendant_but_not_the_root(kata, device, drawn):
    """submodules lists every descendant (children, grandchildren...) by dotted path, without the root."""
    for desc, seen, truth in inventories(kata, drawn, device):
        expect(seen, truth, "submodules", desc,
               why="Submodules are every descendant, not just the direct children, named by their dotted path as "
               "named_modules() gives them; the root itself (named '') is not a submodule.")


@given(drawn=batches(trees("anywhere", need=("shared_modules",)), 2, 5))
@examples(2)
def test_a_shared_submodule_is_listed_once(kata, device, drawn):
    """A module that appears twice in the tree is listed once, under its first path."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.module_alias, "the drawn tree has no shared submodule"
        expect(seen, truth, "submodules", desc,
               why="The same module object registered twice is one shared submodule: named_modules() yields it "
               "once, under the first path.")


# ------------------------------------------------------------------------------------------ specs: unregistered


def _unregistered(seen, truth, desc, why):
    expect(seen, truth, "unregistered", desc, why=why)


@given(drawn=batches(trees("anywhere", "nones", need=("plain",)), 2, 5))
@examples(2)
def test_a_plain_tensor_attribute_is_unregistered(kata, device, drawn):
    """A tensor assigned as a plain attribute (the seed's BrokenLayer) is reported as unregistered."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert "tensor" in truth.planted.values()
        _unregistered(seen, truth, desc,
                      "A plain tensor attribute is neither a parameter nor a buffer: nn.Module keeps it in the "
                      "instance __dict__ (vars(module)) and parameters(), state_dict() and .to() never see it.")


@given(drawn=batches(trees("anywhere", "plain", need=("plain", "deep")), 2, 5))
@examples(2)
def test_unregistered_tensors_inside_submodules_are_found(kata, device, drawn):
    """Plain tensor attributes are found anywhere in the tree, with their dotted path."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert any("." in name for name in truth.expected["unregistered"])
        _unregistered(seen, truth, desc,
                      "Unregistered tensors hide inside submodules too: scan vars() of every module in "
                      "named_modules(), not just the root's, and prefix the names with the module's path.")


@given(drawn=batches(trees("anywhere", "plain", "containers", need=("private",)), 2, 5))
@examples(2)
def test_private_names_count_like_any_other(kata, device, drawn):
    """A private name (self._cache = torch.zeros(...)) is unregistered too; private members are still listed."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert any(name.rpartition(".")[2].startswith("_") for name in truth.expected["unregistered"])
        why = ("A leading underscore changes nothing for nn.Module: a private plain tensor is still unregistered, and "
               "a private Parameter or submodule is still registered. Only nn.Module's bookkeeping is skipped.")
        for key in ("unregistered", "parameters", "submodules"):
            expect(seen, truth, key, desc, why=why)


def _container_spec(kata, device, drawn, kind, why):
    for desc, seen, truth in inventories(kata, drawn, device):
        assert kind in truth.planted.values()
        _unregistered(seen, truth, desc, why)


@given(drawn=batches(trees("anywhere", "plain", need=("list",)), 2, 5))
@examples(2)
def test_modules_in_a_plain_list_are_unregistered(kata, device, drawn):
    """A plain Python list holding modules (the seed's BadModel) is reported as unregistered."""
    _container_spec(kata, device, drawn, "list",
                    "Modules kept in a plain list are invisible to nn.Module (nn.ModuleList registers them); report "
                    "the list attribute itself.")


@given(drawn=batches(trees("anywhere", "plain", need=("tuple", "deep")), 2, 5))
@examples(2)
def test_modules_in_a_plain_tuple_are_unregistered(kata, device, drawn):
    """A plain tuple holding modules, here inside a submodule, is reported as unregistered."""
    _container_spec(kata, device, drawn, "tuple",
                    "Modules kept in a plain tuple are invisible to nn.Module, just like a plain list; report the "
                    "tuple attribute, with its dotted path.")


@given(drawn=batches(trees("anywhere", "plain", need=("dict",)), 2, 5))
@examples(2)
def test_modules_in_a_plain_dict_are_unregistered(kata, device, drawn):
    """A plain Python dict holding modules is reported as unregistered."""
    _container_spec(kata, device, drawn, "dict",
                    "Modules kept in a plain dict are invisible to nn.Module (nn.ModuleDict registers them): check "
                    "the values of dict attributes as well as lists and tuples.")


@given(drawn=batches(trees("anywhere", "containers", need=("list", "tuple", "dict")), 2, 5))
@examples(2)
def test_modules_in_a_plain_container_are_outside_the_tree(kata, device, drawn):
    """Modules hidden in plain containers are not submodules, and their parameters are not listed."""
    for desc, seen, truth in inventories(kata, drawn, device):
        why = ("A module hidden in a plain container is not part of the tree: nn.Module never registered it, so "
               "neither it nor its parameters are tracked. Walk the registered tree only.")
        for key in ("submodules", "parameters"):
            expect(seen, truth, key, desc, why=why)


@given(drawn=batches(trees("anywhere", "nones", "non_persistent", "private", "ties", "shared_modules"), 2, 5))
@examples(2)
def test_registered_members_and_bookkeeping_are_not_unregistered(kata, device, drawn):
    """Parameters, buffers, submodules and nn.Module's own bookkeeping attributes are not unregistered."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.expected["parameters"] or truth.expected["submodules"]
        _unregistered(seen, truth, desc,
                      "In a model where everything is registered nothing is unregistered (but a subclass's plain "
                      "tensor). nn.Module's own bookkeeping (_parameters, _buffers, _modules, the hook tables: every "
                      "name in vars(nn.Module())) lives in vars() too and must be skipped.")


@given(drawn=batches(trees("anywhere", need=("data",)), 2, 5))
@examples(2)
def test_plain_containers_without_modules_are_not_unregistered(kata, device, drawn):
    """Lists, tuples and dicts of plain data (names, sizes, config), even empty ones, are not reported."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.data
        _unregistered(seen, truth, desc,
                      "Only containers that hold nn.Modules hide something from nn.Module; a list of strings or a "
                      "config dict is ordinary data.")


# ------------------------------------------------------------------------------------------ specs: any module


@given(drawn=batches(trees("anywhere", "non_persistent", "plain", "containers", need=("subclass",)), 2, 5))
@examples(2)
def test_subclasses_of_built_in_layers_are_inventoried_like_any_module(kata, device, drawn):
    """Subclasses of nn.Linear and nn.Sequential, and built-in layers themselves, are inventoried like any module."""
    for desc, seen, truth in inventories(kata, drawn, device):
        assert truth.builtin_homes
        why = ("A subclass of a built-in layer (class ScaledLinear(nn.Linear) adding its own buffers and a plain "
               "tensor) and a built-in layer given an extra attribute are modules like any other: inventory them "
               "through the same registries and vars().")
        for key in KEYS:
            expect(seen, truth, key, desc, why=why)


@given(drawn=batches(trees(*EVERYTHING), 2, 5))
@examples(2)
def test_inventory_leaves_the_module_unchanged(kata, device, drawn):
    """inventory only looks: registries, attributes, values and train/eval mode are the same afterwards."""
    for desc, seen, _ in inventories(kata, drawn, device, fingerprints=True):
        before, after = seen["before"], seen["after"]
        for part in ("parameters", "buffers", "modules", "attributes", "training"):
            if before[part] != after[part]:
                fail(f"inventory() on {_words(desc)} changed the module's {part}: inventory must only look, never "
                     "register, delete or fix what it finds (the module is left unchanged).")
        for name, value in before["state"].items():
            if not torch.equal(value, after["state"][name]):
                fail(f"inventory() on {_words(desc)} changed the value of {name!r}: the module must be left "
                     "unchanged.")
