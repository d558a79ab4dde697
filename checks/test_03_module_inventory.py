"""Kata 03: inventory(module), what nn.Module tracks and what it misses. Each spec checks one behaviour."""

import torch
from torch import nn

from kata_runner.asserts import assert_keys, attempt, fail

KEYS = ("parameters", "buffers", "non_persistent_buffers", "submodules", "unregistered")
# What every nn.Module keeps in its instance dict: registries and hook tables, never "unregistered".
BOOKKEEPING = frozenset(vars(nn.Module()))


# --- models under inspection -----------------------------------------------------------------------


class Block(nn.Module):
    """Registered state of every kind: parameters (via Linear, BatchNorm) and both sorts of buffer."""

    def __init__(self, device):
        super().__init__()
        self.linear = nn.Linear(4, 4, device=device)
        self.norm = nn.BatchNorm1d(4, device=device)
        self.register_buffer("mask", torch.ones(4, device=device))
        self.register_buffer("scratch", torch.zeros(4, device=device), persistent=False)


class Net(nn.Module):
    """A well-built model: everything is registered, nothing is hidden."""

    def __init__(self, device):
        super().__init__()
        self.embed = nn.Linear(3, 4, device=device)
        self.blocks = nn.ModuleList([Block(device), Block(device)])
        self.heads = nn.ModuleDict(
            {"cls": nn.Linear(4, 2, device=device), "reg": nn.Linear(4, 1, device=device)}
        )
        self.scale = nn.Parameter(torch.ones((), device=device))
        self.register_buffer("step", torch.zeros((), dtype=torch.long, device=device))
        self.register_buffer("cache", torch.zeros(4, device=device), persistent=False)
        self.depth = 2


class TiedLM(nn.Module):
    """Weight tying: the output head reuses the embedding matrix (one Parameter, two names)."""

    def __init__(self, device):
        super().__init__()
        self.embed = nn.Embedding(10, 4, device=device)
        self.body = nn.Linear(4, 4, device=device)
        self.head = nn.Linear(4, 10, device=device)
        self.head.weight = self.embed.weight


class WithNones(nn.Module):
    """Entries registered as None: a Linear without bias, a None parameter and a None buffer."""

    def __init__(self, device):
        super().__init__()
        self.linear = nn.Linear(3, 2, bias=False, device=device)
        self.register_parameter("extra", None)
        self.register_buffer("mask", None)
        self.register_buffer("scratch", None, persistent=False)


class BrokenLayer(nn.Module):
    """The seed notebook's BrokenLayer: plain tensors, so nn.Module tracks nothing."""

    def __init__(self, device):
        super().__init__()
        self.weight = torch.randn(4, 4, device=device)
        self.bias = torch.zeros(4, device=device)

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Wrapper(nn.Module):
    """Broken layers buried in the tree: one inside a Sequential, one as a direct child."""

    def __init__(self, device):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4, device=device), BrokenLayer(device))
        self.head = BrokenLayer(device)


class BadModel(nn.Module):
    """The seed notebook's BadModel: its layers live in a plain Python list."""

    def __init__(self, device):
        super().__init__()
        self.stem = nn.Linear(4, 4, device=device)
        self.layers = [nn.Linear(4, 4, device=device) for _ in range(2)]


class TupleInside(nn.Module):
    """A submodule that keeps a pair of modules in a plain tuple."""

    def __init__(self, device):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 4, device=device))
        self.encoder.pair = (nn.Linear(4, 4, device=device), nn.ReLU())


class DictHeads(nn.Module):
    """Task heads kept in a plain dict instead of an nn.ModuleDict."""

    def __init__(self, device):
        super().__init__()
        self.trunk = nn.Linear(4, 4, device=device)
        self.heads = {"cls": nn.Linear(4, 2, device=device), "reg": nn.Linear(4, 1, device=device)}


class PlainData(nn.Module):
    """Plain Python containers that hold no modules at all: ordinary configuration."""

    def __init__(self, device):
        super().__init__()
        self.linear = nn.Linear(4, 4, device=device)
        self.names = ["a", "b"]
        self.sizes = (4, 4)
        self.config = {"activation": "relu", "layers": 2}
        self.linear.tags = {"frozen": False}


# --- helpers ---------------------------------------------------------------------------------------


def run(kata, model):
    """inventory(model), checked to be a dict; crashes become readable verdicts."""
    result = attempt(kata.inventory, model, doing=f"inventory({type(model).__name__}(...))")
    if not isinstance(result, dict):
        fail(f"inventory() should return a dict of five lists of names, got {type(result).__name__}.")
    return result


def names(kata, model, key):
    """The list inventory(model) gives under `key`, checked to be a list of strings."""
    result = run(kata, model)
    if key not in result:
        fail(f"inventory() has no key {key!r}: the result needs exactly the keys {list(KEYS)}.")
    value = result[key]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        fail(f"inventory()[{key!r}] should be a list of dotted names (str), got {value!r}.")
    return value


def what(model, key):
    return f"inventory({type(model).__name__}(...))[{key!r}]"


def registered(model, key):
    """The expected answer for the registered kinds, from nn.Module's own public API."""
    saved = set(model.state_dict())
    if key == "parameters":
        return [name for name, _ in model.named_parameters()]
    if key == "buffers":
        return [name for name, _ in model.named_buffers() if name in saved]
    if key == "non_persistent_buffers":
        return [name for name, _ in model.named_buffers() if name not in saved]
    if key == "submodules":
        return [name for name, _ in model.named_modules() if name]
    raise KeyError(key)


def expect_registered(kata, model, key, *, why):
    """inventory(model)[key] must match what nn.Module's public API reports (computed first)."""
    expected = registered(model, key)
    assert_keys(names(kata, model, key), expected, what(model, key), why=why)


def expect_unregistered(kata, model, expected, *, why):
    """inventory(model)["unregistered"] must be `expected`; bookkeeping names get their own verdict."""
    got = names(kata, model, "unregistered")
    internal = sorted(name for name in got if name.rpartition(".")[2] in BOOKKEEPING)
    if internal:
        fail(
            f"{what(model, 'unregistered')} reports {internal}: that is nn.Module's own bookkeeping (the "
            "registries and hook tables every module keeps in vars(), see vars(nn.Module())), not something "
            "left unregistered. Skip those names."
        )
    assert_keys(got, expected, what(model, "unregistered"), why=why)


# --- the result's shape ----------------------------------------------------------------------------


def test_inventory_returns_the_five_keys_as_sorted_lists_of_names(kata, device):
    """The result is a dict with exactly the five keys, each a sorted list of dotted names."""
    result = run(kata, Net(device))
    assert_keys(result.keys(), KEYS, "the keys of inventory()'s result")
    for key in KEYS:
        value = result[key]
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            fail(f"inventory()[{key!r}] should be a list of dotted names (str), got {value!r}.")
        if value != sorted(value):
            fail(f"inventory()[{key!r}] is not sorted: {value}. Return sorted(names), a stable order.")


# --- parameters ------------------------------------------------------------------------------------


def test_parameters_are_the_names_named_parameters_gives(kata, device):
    """parameters lists every registered nn.Parameter of the tree, with its dotted prefix."""
    model = Net(device)
    expect_registered(
        kata, model, "parameters",
        why="Every module's _parameters registry counts, the root's and every submodule's, each name "
        "prefixed with the module's dotted path (blocks.0.linear.weight).",
    )


def test_a_tied_parameter_is_listed_once_under_its_first_name(kata, device):
    """A tied (shared) parameter is listed once, under the first name, as named_parameters() does."""
    model = TiedLM(device)
    expect_registered(
        kata, model, "parameters",
        why="head.weight is embed.weight: a tied (shared) Parameter is one tensor, so named_parameters() "
        "lists it once, under the first name it meets. Remember the Parameters already listed (by identity).",
    )


def test_parameters_and_buffers_set_to_none_are_not_listed(kata, device):
    """Names registered as None (bias=False, register_buffer(name, None)) hold no tensor: not listed."""
    model = WithNones(device)
    why = (
        "A name registered as None (register_parameter('extra', None), register_buffer('mask', None), "
        "Linear(bias=False)) holds no tensor: named_parameters(), named_buffers() and state_dict() skip it."
    )
    for key in ("parameters", "buffers", "non_persistent_buffers"):
        expect_registered(kata, model, key, why=why)


# --- buffers ---------------------------------------------------------------------------------------


def test_buffers_are_the_persistent_ones_in_the_state_dict(kata, device):
    """buffers lists the persistent buffers only: exactly those that state_dict() saves."""
    model = Net(device)
    expect_registered(
        kata, model, "buffers",
        why="Only persistent buffers are saved in state_dict(); those registered with persistent=False are "
        "non-persistent buffers (see _non_persistent_buffers_set) and belong under 'non_persistent_buffers'.",
    )


def test_non_persistent_buffers_are_listed_on_their_own(kata, device):
    """non_persistent_buffers lists the buffers registered with persistent=False, anywhere in the tree."""
    model = Net(device)
    expect_registered(
        kata, model, "non_persistent_buffers",
        why="A buffer registered with persistent=False is non-persistent: it moves with .to() but is left "
        "out of state_dict(). Its name is in its module's _non_persistent_buffers_set.",
    )


# --- submodules ------------------------------------------------------------------------------------


def test_submodules_are_every_descendant_but_not_the_root(kata, device):
    """submodules lists every descendant (children, grandchildren...) by dotted path, without the root."""
    model = Net(device)
    expect_registered(
        kata, model, "submodules",
        why="Submodules are every descendant, not just the direct children, named by their dotted path as "
        "named_modules() gives them; the root itself (named '') is not a submodule.",
    )


def test_a_shared_submodule_is_listed_once(kata, device):
    """A module that appears twice in the tree is listed once, under its first path."""
    shared = nn.Linear(4, 4, device=device)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    expect_registered(
        kata, model, "submodules",
        why="The same module object registered twice is one shared submodule: named_modules() yields it "
        "once, under the first path.",
    )


# --- unregistered ----------------------------------------------------------------------------------


def test_a_plain_tensor_attribute_is_unregistered(kata, device):
    """A tensor assigned as a plain attribute (the seed's BrokenLayer) is reported as unregistered."""
    model = BrokenLayer(device)
    expect_unregistered(
        kata, model, ["bias", "weight"],
        why="A plain tensor attribute is neither a parameter nor a buffer: nn.Module keeps it in the "
        "instance __dict__ (vars(module)) and parameters(), state_dict() and .to() never see it.",
    )


def test_unregistered_tensors_inside_submodules_are_found(kata, device):
    """Plain tensor attributes are found anywhere in the tree, with their dotted path."""
    model = Wrapper(device)
    expect_unregistered(
        kata, model, ["body.1.bias", "body.1.weight", "head.bias", "head.weight"],
        why="Unregistered tensors hide inside submodules too: scan vars() of every module in "
        "named_modules(), not just the root's, and prefix the names with the module's path.",
    )


def test_modules_in_a_plain_list_are_unregistered(kata, device):
    """A plain Python list holding modules (the seed's BadModel) is reported as unregistered."""
    model = BadModel(device)
    expect_unregistered(
        kata, model, ["layers"],
        why="Modules kept in a plain list are invisible to nn.Module (nn.ModuleList registers them); report "
        "the list attribute itself.",
    )


def test_modules_in_a_plain_tuple_are_unregistered(kata, device):
    """A plain tuple holding modules, here inside a submodule, is reported as unregistered."""
    model = TupleInside(device)
    expect_unregistered(
        kata, model, ["encoder.pair"],
        why="Modules kept in a plain tuple are invisible to nn.Module, just like a plain list; report the "
        "tuple attribute, with its dotted path.",
    )


def test_modules_in_a_plain_dict_are_unregistered(kata, device):
    """A plain Python dict holding modules is reported as unregistered."""
    model = DictHeads(device)
    expect_unregistered(
        kata, model, ["heads"],
        why="Modules kept in a plain dict are invisible to nn.Module (nn.ModuleDict registers them): check "
        "the values of dict attributes as well as lists and tuples.",
    )


def test_modules_in_a_plain_container_are_outside_the_tree(kata, device):
    """Modules hidden in a plain list are not submodules, and their parameters are not listed."""
    model = BadModel(device)
    why = (
        "A module hidden in a plain list is not part of the tree: nn.Module never registered it, so neither "
        "it nor its parameters are tracked. Walk the registered tree only."
    )
    for key in ("submodules", "parameters"):
        expect_registered(kata, model, key, why=why)


def test_registered_members_and_bookkeeping_are_not_unregistered(kata, device):
    """Parameters, buffers, submodules and nn.Module's own bookkeeping attributes are not unregistered."""
    model = Net(device)
    expect_unregistered(
        kata, model, [],
        why="In a model where everything is registered nothing is unregistered. nn.Module's own bookkeeping "
        "(_parameters, _buffers, _modules, the hook tables: every name in vars(nn.Module())) lives in vars() "
        "too and must be skipped.",
    )


def test_plain_containers_without_modules_are_not_unregistered(kata, device):
    """Lists, tuples and dicts of plain data (names, sizes, config) are not reported."""
    model = PlainData(device)
    expect_unregistered(
        kata, model, [],
        why="Only containers that hold nn.Modules hide something from nn.Module; a list of strings or a "
        "config dict is ordinary data.",
    )
