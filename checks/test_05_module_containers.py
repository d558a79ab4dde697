"""Kata 05: Block and MultiHeadNetwork, submodules kept in registering containers.

Every spec is judged outside the learner's process. The judge draws a network DESCRIPTION (in_dim, dim,
num_blocks, and an ordered list of (head name, out size) pairs, with private names such as `_aux`,
digit names such as `0`, one to four heads, zero to four blocks), sends it to a probe that builds the
learner's MultiHeadNetwork from it, and builds its own copy from real torch (nn.Linear, nn.LayerNorm,
nn.ModuleList, nn.ModuleDict). That copy's state_dict() and named_modules() are the oracle for names and
shapes; its layers' functions (F.linear, F.relu, F.layer_norm) applied to the same values, and a manual SGD
step through them, are the oracle for values. Each probe call judges a batch of drawn cases, and a failure
names the case it happened on. Values reach the learner's layers
through the public attribute paths of the contract (model.embed, model.blocks[i].linear / .norm,
model.heads[name]), so a network whose containers register nothing still computes, and is then caught by
what registration is for: parameters(), state_dict(), .double(), .eval().

Contract clauses, and the specs that enforce them:

C1  Block(dim) holds `linear` = nn.Linear(dim, dim) and `norm` = nn.LayerNorm(dim); its state_dict() is exactly
    linear.weight (dim, dim), linear.bias (dim,), norm.weight (dim,), norm.bias (dim,).
    -> block_state_dict_holds_linear_and_norm
C2  Block.forward(x) = norm(relu(linear(x)) + x) for x of shape (*, dim): 1-D, a batch of one, more leading
    dimensions, any layout, float32 or float64 (the block's dtype).
    -> block_forward_is_norm_of_relu_linear_plus_residual
C3  Block.forward never modifies x and leaves grad mode alone.   -> block_forward_leaves_its_input_alone
C4  MultiHeadNetwork's state_dict() keys and shapes are those of the same network built from nn.ModuleList and
    nn.ModuleDict: embed.*, blocks.<i>.linear.*, blocks.<i>.norm.*, heads.<name>.*.
    -> state_dict_keys_name_every_block_and_head
C5  Every parameter is registered: an optimizer step over model.parameters() updates embed, every block and
    every head exactly as it updates the reference network; gradients reach all of them.
    -> an_optimizer_step_updates_every_parameter
C6  blocks holds num_blocks separate Blocks (no Block repeated).   -> each_block_has_its_own_parameters
C7  .double() and .to(device) reach every submodule.   -> double_and_to_reach_every_submodule
C8  .eval() and .train() reach every submodule.   -> eval_and_train_reach_every_block_and_head
C9  forward(x, head) (head positional or keyword) = heads[head](block_n(...block_1(embed(x)))), for x of shape
    (*, in_dim) in any layout, float32 or float64; twice gives the same; every head name selects its own head;
    num_blocks=0 gives heads[head](embed(x)).
    -> forward_runs_embed_then_each_block_then_the_named_head, each_head_name_selects_its_own_head,
       zero_blocks_give_the_head_of_the_embedding
C10 forward never modifies x and leaves grad mode alone; under torch.no_grad() there is no history.
    -> forward_leaves_the_input_and_grad_mode_alone
C11 An unknown head raises KeyError whose message names every available head.
    -> unknown_head_raises_key_error_listing_the_available_heads
C12 state_dict() is interchangeable with the reference network's, both ways.
    -> state_dict_loads_into_a_reference_network_and_back
C13 The caller's heads dict is not modified.   -> the_callers_heads_dict_is_left_alone
"""

import dataclasses
import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from kata_runner.asserts import assert_close, assert_keys, fail
from kata_runner.batching import batch_doing, cases_of, each_case, judged
from kata_runner.draw import examples, given, sizes, st, tensors
from kata_runner.probing import outcome, probe, snapshot

BLOCK_FORMULA = (
    "Block.forward must be norm(relu(linear(x)) + x): ReLU, then the residual add (+ x), then the LayerNorm."
)
MOVED = (
    "If this is a device or dtype mismatch, a submodule was not registered (kept in a plain list or dict) "
    "and did not move with .to() / .double()."
)
KEYS_WHY = (
    "nn.ModuleList registers each Block under its index (blocks.0.linear.weight) and nn.ModuleDict each "
    "head under its name (heads.cls.weight)."
)
FORWARD_WHY = "forward runs embed, then every block in order, then the named head."
PATHS = "The contract names model.embed, model.blocks[i].linear / .norm and model.heads[name]."
HEAD_NAMES = ("cls", "reg", "_aux", "0", "seg", "bias", "Depth", "h_2")
EPS = 1e-5


# ------------------------------------------------------------------------------------------ probes
# These run in the subject, next to the learner's code. They observe; the specs below decide.


def _child(obj, part):
    if isinstance(obj, (dict, nn.ModuleDict)):
        return obj[part]
    if isinstance(obj, (list, tuple, nn.ModuleList, nn.Sequential)):
        return obj[int(part)]
    return getattr(obj, part)


def _get(root, key):
    obj = root
    for part in key.split("."):
        obj = _child(obj, part)
    return obj


def _network(impl, tree, heads=None):
    heads = dict(tree["heads"]) if heads is None else heads
    return impl.MultiHeadNetwork(tree["in_dim"], tree["dim"], tree["num_blocks"], heads)


def _unpack(packed):
    """The judge's values, {key: tensor}, from one flat tensor and the keys and shapes laid out in it."""
    flat, layout = packed
    values, offset = {}, 0
    for key, shape in layout:
        size = math.prod(shape)
        values[key] = flat[offset:offset + size].view(shape)
        offset += size
    return values


def _write(root, values):
    """Put the judge's values into the learner's layers through the public attribute paths."""
    unreachable = []
    with torch.no_grad():
        for key, value in values.items():
            try:
                target = _get(root, key)
            except (AttributeError, KeyError, IndexError, TypeError, ValueError):
                unreachable.append(key)
                continue
            target.copy_(value)
    return unreachable


def _read(root, keys):
    found = {}
    for key in keys:
        try:
            found[key] = _get(root, key).detach().clone()
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            found[key] = None
    return found


def _containers(model):
    found = {}
    for attr in ("blocks", "heads"):
        value = getattr(model, attr, None)
        found[attr] = [type(value).__name__, isinstance(value, nn.Module)]
    return found


def _watched(call, x, no_grad):
    """call() under no_grad if asked; what it returned, and what it left behind in x and grad mode."""
    x_before = x.clone()
    before = torch.is_grad_enabled()
    if no_grad:
        with torch.no_grad():
            out = call()
    else:
        out = call()
    return out, {"x_changed": not torch.equal(x, x_before), "grad_mode_kept": torch.is_grad_enabled() == before}


@probe
def block_state(impl, cases):
    """Per (dim,): a fresh Block(dim)'s state_dict."""
    return each_case(impl, cases, lambda impl, dim: snapshot(impl.Block(dim).state_dict()))


def _block_forward(impl, dim, values, x, no_grad):
    block = impl.Block(dim).to(device=x.device, dtype=x.dtype)
    unreachable = _write(block, _unpack(values))
    out, left = _watched(lambda: block(x), x, no_grad)
    return {"unreachable": unreachable, "out": out.detach(), "history": out.grad_fn is not None or out.requires_grad,
            **left}


@probe
def block_forward(impl, cases):
    """Per (dim, values, x, no_grad): Block(dim) holding the values, run on x."""
    return each_case(impl, cases, _block_forward)


@probe
def network_state(impl, cases):
    """Per (tree,): the network's state_dict, and what its containers are."""
    def observe(impl, tree):
        model = _network(impl, tree)
        return {"state": snapshot(model.state_dict()), "containers": _containers(model)}

    return each_case(impl, cases, observe)


def _network_forward(impl, tree, values, x, heads, keyword, no_grad, again):
    model = _network(impl, tree).to(device=x.device, dtype=x.dtype)
    unreachable = _write(model, _unpack(values))

    def run_heads():
        outs, seconds, history = {}, {}, False
        for head in heads:
            out = model(x, head=head) if keyword else model(x, head)
            history = history or out.grad_fn is not None or out.requires_grad
            outs[head] = out.detach()
            if again:
                seconds[head] = model(x, head).detach()
        return outs, seconds, history

    (outs, seconds, history), left = _watched(run_heads, x, no_grad)
    return {"unreachable": unreachable, "out": outs, "again": seconds, "history": history,
            "containers": _containers(model), **left}


@probe
def network_forward(impl, cases, again=False):
    """Per (tree, values, x, heads, keyword, no_grad): the network holding the values, run on x for each head
    (and, `again`, a second time)."""
    return each_case(impl, cases, functools.partial(_network_forward, again=again))


def _sgd_step(impl, tree, values, x, grads, lr):
    model = _network(impl, tree).to(device=x.device, dtype=x.dtype)
    values = _unpack(values)
    unreachable = _write(model, values)
    params = list(model.parameters())
    total = 0
    for head, grad in grads.items():
        total = total + (model(x, head) * grad).sum()
    total.backward()
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad
    return {"unreachable": unreachable, "after": _read(model, list(values)), "containers": _containers(model)}


@probe
def sgd_step(impl, cases):
    """What every optimizer does: update whatever parameters() yields, by its gradient."""
    return each_case(impl, cases, _sgd_step)


def _write_and_read_back(impl, tree, values):
    model = _network(impl, tree)
    values = _unpack(values)
    unreachable = _write(model, values)
    return {"unreachable": unreachable, "read": _read(model, list(values)),
            "parameters": len(list(model.parameters())), "containers": _containers(model)}


@probe
def write_and_read_back(impl, cases):
    return each_case(impl, cases, _write_and_read_back)


def _moved(impl, tree, values, device, x, head):
    model = _network(impl, tree).to(device).double()
    values = _unpack(values)
    unreachable = _write(model, values)
    return {"unreachable": unreachable, "read": _read(model, list(values)), "out": model(x, head).detach(),
            "containers": _containers(model)}


@probe
def moved(impl, cases):
    return each_case(impl, cases, _moved)


def _modes(impl, tree, paths):
    model = _network(impl, tree)
    flags = {}
    for step in ("eval", "train", "eval"):
        getattr(model, step)()
        seen = {}
        for path in paths:
            try:
                seen[path] = bool(_get(model, path).training)
            except (AttributeError, KeyError, IndexError, TypeError, ValueError):
                seen[path] = None
        flags[step] = seen
    return {"flags": flags, "containers": _containers(model)}


@probe
def modes(impl, cases):
    return each_case(impl, cases, _modes)


def _unknown_head(impl, tree, x, name, keyword):
    model = _network(impl, tree).to(x.device)
    res = outcome(model, x, head=name) if keyword else outcome(model, x, name)
    return {"raised": res["raised"]}


@probe
def unknown_head(impl, cases):
    return each_case(impl, cases, _unknown_head)


def _state_dict_round_trip(impl, tree, foreign_state, x, head):
    model = _network(impl, tree).to(x.device)
    own = snapshot(model.state_dict())
    own_out = model(x, head).detach()
    model.load_state_dict(foreign_state)
    return {"own": own, "own_out": own_out, "loaded_out": model(x, head).detach()}


@probe
def state_dict_round_trip(impl, cases):
    return each_case(impl, cases, _state_dict_round_trip)


def _heads_dict_after(impl, tree, x):
    heads = dict(tree["heads"])
    model = _network(impl, tree, heads).to(x.device)
    after_init = list(heads.items())
    for name in list(heads):
        model(x, name)
    return {"after_init": after_init, "after_forward": list(heads.items())}


@probe
def heads_dict_after(impl, cases):
    return each_case(impl, cases, _heads_dict_after)


# ------------------------------------------------------------------------------------------ the oracle


class ReferenceBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(F.relu(self.linear(x)) + x)


class ReferenceNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = nn.ModuleList([ReferenceBlock(dim) for _ in range(num_blocks)])
        self.heads = nn.ModuleDict({name: nn.Linear(dim, out) for name, out in heads.items()})

    def forward(self, x, head):
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.heads[head](h)


def reference(tree, values, device="cpu", dtype=torch.float64):
    """The network built from nn.ModuleList and nn.ModuleDict, holding `values`."""
    model = ReferenceNetwork(tree["in_dim"], tree["dim"], tree["num_blocks"], dict(tree["heads"]))
    model = model.to(device=device, dtype=dtype)
    model.load_state_dict(values)
    return model


@functools.cache
def _structure(in_dim, dim, num_blocks, heads):
    model = ReferenceNetwork(in_dim, dim, num_blocks, dict(heads))
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    return shapes, [name for name, _ in model.named_modules() if name]


def _structure_of(tree):
    return _structure(tree["in_dim"], tree["dim"], tree["num_blocks"], tuple(map(tuple, tree["heads"])))


def reference_shapes(tree):
    """The reference network's state_dict keys and shapes, in order ({key: shape})."""
    return _structure_of(tree)[0]


def reference_paths(tree):
    """The reference network's named_modules() names (its submodules, not itself)."""
    return _structure_of(tree)[1]


def reference_forward(tree, values, x, head):
    """What the reference network computes, straight from its state_dict `values` with the functions its layers
    call (F.linear, F.relu, F.layer_norm), without building it again for every case."""
    h = F.linear(x, values["embed.weight"], values["embed.bias"])
    for i in range(tree["num_blocks"]):
        block = f"blocks.{i}."
        z = F.relu(F.linear(h, values[block + "linear.weight"], values[block + "linear.bias"])) + h
        h = F.layer_norm(z, (tree["dim"],), values[block + "norm.weight"], values[block + "norm.bias"], EPS)
    return F.linear(h, values[f"heads.{head}.weight"], values[f"heads.{head}.bias"])


@functools.cache
def block_shapes(dim):
    return {key: tuple(value.shape) for key, value in ReferenceBlock(dim).state_dict().items()}


def packed(values):
    """{key: tensor} as one flat tensor and its (key, shape) layout: one tensor to send instead of dozens."""
    return (torch.cat([value.reshape(-1) for value in values.values()]),
            [(key, tuple(value.shape)) for key, value in values.items()])


def values_for(shapes, seed, device="cpu", dtype=torch.float64):
    """Judge-drawn values for every key of a reference state_dict ({key: shape}): norm scales in [0.5, 1.5],
    weights scaled by 1/sqrt(fan_in) so that activations stay moderate through the blocks."""
    generator = torch.Generator().manual_seed(seed)
    values = {}
    for key, shape in shapes.items():
        noise = torch.randn(shape, generator=generator, dtype=torch.float64)
        if key.endswith("norm.weight"):
            v = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5
        elif key.endswith("weight"):
            v = noise / max(1, shape[-1]) ** 0.5 * 1.5
        else:
            v = noise * 0.5
        values[key] = v.to(device=device, dtype=dtype)
    return values


def pretty(key):
    """blocks.0.linear.weight -> model.blocks[0].linear.weight"""
    parts = key.split(".")
    out = "model"
    for i, part in enumerate(parts):
        if i == 1 and parts[0] == "blocks":
            out += f"[{part}]"
        elif i == 1 and parts[0] == "heads":
            out += f"[{part!r}]"
        else:
            out += f".{part}"
    return out


def container_hint(containers, key, otherwise=None):
    """Why the submodule holding `key` may be invisible to the network."""
    for attr, fix in (("blocks", "nn.ModuleList"), ("heads", "nn.ModuleDict")):
        type_name, is_module = containers.get(attr, ["?", True])
        if key.startswith(attr + ".") and not is_module:
            return (f"model.{attr} is a plain Python {type_name}, which nn.Module does not look inside: the modules "
                    f"in it are not registered. Use {fix}.")
    return otherwise or (
        "Register every submodule: assign it as an attribute or keep it in nn.ModuleList / nn.ModuleDict.")


def check_reachable(unreachable):
    if unreachable:
        fail(f"{pretty(unreachable[0])} could not be reached ({len(unreachable)} path(s) missing). {PATHS}")


def tolerance_for(dtype):
    return {"rtol": 1e-7, "atol": 1e-9} if dtype == torch.float64 else {"rtol": 1e-3, "atol": 1e-3}


# ------------------------------------------------------------------------------------------ inputs

SEEDS = st.integers(0, 2**16)
NAMES = st.lists(st.sampled_from(HEAD_NAMES), min_size=1, max_size=4, unique=True)
OUT_SIZES, IN_DIMS, DIMS = sizes(1, 4), sizes(1, 6), sizes(2, 6)
BLOCK_COUNTS = {(low, high): st.integers(low, high) for low, high in ((0, 4), (2, 4), (0, 0))}
LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")


@functools.cache
def inputs_of(features, dtypes, layouts=LAYOUTS):
    """x of shape (*, features) (built once per size: a strategy costs validation on every use)."""
    return tensors((features,), dtypes=dtypes, layouts=layouts, max_side=4)


@st.composite
def trees(draw, min_blocks=0, max_blocks=4):
    names = draw(NAMES)
    outs = [draw(OUT_SIZES) for _ in names]
    return {
        "in_dim": draw(IN_DIMS),
        "dim": draw(DIMS),
        "num_blocks": draw(BLOCK_COUNTS[min_blocks, max_blocks]),
        "heads": [[name, out] for name, out in zip(names, outs)],
    }


def describe_tree(tree):
    heads = ", ".join(f"{name!r}: {out}" for name, out in tree["heads"])
    return f"MultiHeadNetwork({tree['in_dim']}, {tree['dim']}, {tree['num_blocks']}, {{{heads}}})"


@st.composite
def network_cases(draw, min_blocks=0, max_blocks=4, dtypes=(torch.float32, torch.float64)):
    tree = draw(trees(min_blocks, max_blocks))
    xs = draw(inputs_of(tree["in_dim"], dtypes))
    return tree, xs, draw(SEEDS)


class NetworkCase:
    """One drawn network and input, built on the spec's device: x, judge-drawn values for every key of the
    reference network's state_dict (float64), and those values in x's dtype (what the learner's network is given)."""

    def __init__(self, drawn, device):
        self.tree, self.xs, self.seed = drawn
        self.x = self.xs.make(device)
        self.values = values_for(reference_shapes(self.tree), self.seed, device)
        self.sent = packed({k: v.to(self.x.dtype) for k, v in self.values.items()})
        self.network = describe_tree(self.tree)
        self.words = self.xs.describe()
        self.head = self.tree["heads"][self.seed % len(self.tree["heads"])][0]


def network_cases_on(drawn, device):
    return [NetworkCase(d, device) for d in drawn]


# ------------------------------------------------------------------------------------------ specs: Block


@given(dims=cases_of(sizes(1, 12), 4))
@examples(2)
def test_block_state_dict_holds_linear_and_norm(kata, device, dims):
    """Block(dim)'s state_dict is exactly linear.weight (dim, dim), linear.bias, norm.weight and norm.bias."""
    seen = kata.run(block_state, [(dim,) for dim in dims], doing=batch_doing([f"Block({dim})" for dim in dims]))
    for dim, state in judged(dims, seen, lambda dim: f"Block({dim})"):
        expected = block_shapes(dim)
        assert_keys(state, expected.keys(), f"Block({dim}).state_dict() keys",
                    why="Block holds `linear`, an nn.Linear(dim, dim), and `norm`, an nn.LayerNorm(dim).")
        for key, shape in expected.items():
            if tuple(state[key].shape) != shape:
                fail(f"Block({dim}).{key} has shape {tuple(state[key].shape)}, expected {shape}: "
                     "linear maps dim -> dim and norm is a LayerNorm over dim.")


@st.composite
def block_cases(draw, dtypes=(torch.float32, torch.float64), layouts=LAYOUTS):
    dim = draw(IN_DIMS)
    xs = draw(inputs_of(dim, dtypes, layouts))
    return dim, xs, draw(SEEDS)


class BlockCase:
    """One drawn block input, built on the spec's device: x, the reference block holding judge-drawn values (in
    float64 on the CPU), and those values in x's dtype on the device (what the learner's block is given)."""

    def __init__(self, drawn, device):
        self.dim, self.xs, seed = drawn
        self.x = self.xs.make(device)
        self.values = values_for(block_shapes(self.dim), seed)
        self.block = ReferenceBlock(self.dim).double()
        self.block.load_state_dict(self.values)
        self.sent = packed({k: v.to(device=device, dtype=self.x.dtype) for k, v in self.values.items()})
        self.doing = f"Block({self.dim}) forward on {self.xs.describe()}"
        self.no_grad = False


def run_blocks(kata, cases):
    inputs = [(c.dim, c.sent, c.x, c.no_grad) for c in cases]
    seen = kata.run(block_forward, inputs, doing=batch_doing([c.doing for c in cases]))
    return judged(cases, seen, lambda c: c.doing)


def _block_mistake(case, got, expected, tol):
    """The known wrong orders of norm(relu(linear(x)) + x) that `got` matches, in words (or None)."""
    x64, values, dim = case.x.double().cpu(), case.values, case.dim
    with torch.no_grad():
        lin = case.block.linear(x64)

        def ln(t):
            return F.layer_norm(t, (dim,), values["norm.weight"], values["norm.bias"], EPS)

        wrong = {
            "the residual connection is missing: add the block's input x back before the LayerNorm.":
                lambda: ln(F.relu(lin)),
            "the LayerNorm comes before the residual add: apply it after the residual, to the sum.":
                lambda: ln(F.relu(lin)) + x64,
            "the ReLU is missing: apply relu to linear(x) before the residual add.": lambda: ln(lin + x64),
            "the ReLU is applied after the residual add: relu(linear(x)) first, then + x.":
                lambda: ln(F.relu(lin + x64)),
            "the LayerNorm is never applied: normalise relu(linear(x)) + x with self.norm.":
                lambda: F.relu(lin) + x64,
        }
        for message, compute in wrong.items():
            value = compute()
            if not torch.allclose(value, expected, **tol) and torch.allclose(got, value, **tol):
                return message
    return None


@given(drawn=cases_of(block_cases(), 8))
@examples(2)
def test_block_forward_is_norm_of_relu_linear_plus_residual(kata, device, drawn):
    """Block.forward computes norm(relu(linear(x)) + x) on inputs of shape (*, dim)."""
    for case, seen in run_blocks(kata, [BlockCase(d, device) for d in drawn]):
        check_reachable(seen["unreachable"])
        words = case.xs.describe()
        with torch.no_grad():
            expected = case.block(case.x.double().cpu())
        out = seen["out"]
        tol = tolerance_for(case.x.dtype)
        if isinstance(out, torch.Tensor) and out.shape == expected.shape:
            got = out.double().cpu()
            if not torch.allclose(got, expected, **tol):
                message = _block_mistake(case, got, expected, tol)
                if message:
                    fail(f"Block.forward on {words}: {message} {BLOCK_FORMULA}")
        if isinstance(out, torch.Tensor) and out.dtype != case.x.dtype:
            fail(f"Block.forward on {words} returned {out.dtype}: it must keep the block's dtype {case.x.dtype}.")
        assert_close(out.double().cpu(), expected, f"Block.forward on {words}", why=BLOCK_FORMULA, **tol)


@given(drawn=cases_of(st.tuples(block_cases(layouts=("contiguous", "transposed", "sliced")), st.booleans()), 6))
@examples(2)
def test_block_forward_leaves_its_input_alone(kata, device, drawn):
    """Block.forward never writes into x nor switches grad mode; under torch.no_grad() it records no history."""
    cases = [BlockCase(d, device) for d, _ in drawn]
    for case, (_, no_grad) in zip(cases, drawn):
        case.no_grad = no_grad
    for case, seen in run_blocks(kata, cases):
        words, flag = case.xs.describe(), case.no_grad
        if seen["x_changed"]:
            fail(f"Block.forward on {words} changed the input tensor in place (x += ...?): never modify the "
                 "caller's x; add the residual out of place.")
        if not seen["grad_mode_kept"]:
            fail(f"Block.forward on {words}{' under torch.no_grad()' if flag else ''} switched grad mode on or off: "
                 "leave torch.is_grad_enabled() as the caller set it.")
        if flag and seen["history"]:
            fail(f"under torch.no_grad() the output of Block.forward on {words} still records autograd history.")


# ------------------------------------------------------------------------------------------ specs: structure


@given(drawn=cases_of(trees(), 6))
@examples(2)
def test_state_dict_keys_name_every_block_and_head(kata, device, drawn):
    """state_dict() keys and shapes match nn.ModuleList / nn.ModuleDict: embed.*, blocks.<i>.*, heads.<name>.*."""
    seen = kata.run(network_state, [(tree,) for tree in drawn], doing=batch_doing([describe_tree(t) for t in drawn]))
    for tree, observed in judged(drawn, seen, describe_tree):
        expected = reference_shapes(tree)
        got = observed["state"]
        missing = [key for key in expected if key not in got]
        why = KEYS_WHY + (f" {container_hint(observed['containers'], missing[0])}" if missing else "")
        assert_keys(got, expected.keys(), f"state_dict() keys of {describe_tree(tree)}", why=why)
        for key, shape in expected.items():
            if tuple(got[key].shape) != shape:
                fail(f"{key} has shape {tuple(got[key].shape)} in {describe_tree(tree)}, expected {shape}: "
                     "embed maps in_dim -> dim, each block dim -> dim, each head dim -> its out size.")


@given(drawn=cases_of(st.tuples(network_cases(), st.sampled_from([0.1, 0.5])), 6))
@examples(2)
def test_an_optimizer_step_updates_every_parameter(kata, device, drawn):
    """An SGD step over model.parameters() updates embed, every block and every head as it does the reference."""
    cases = []
    for (tree, xs, seed), lr in drawn:
        case = NetworkCase((tree, dataclasses.replace(xs, dtype=torch.float64), seed), device)
        generator = torch.Generator().manual_seed(seed + 1)
        case.lr = lr
        case.grads = {name: torch.randn((*case.x.shape[:-1], out), generator=generator, dtype=torch.float64)
                      .to(device) for name, out in tree["heads"]}
        cases.append(case)
    doings = [f"an SGD step on {c.network}" for c in cases]
    seen = kata.run(sgd_step, [(c.tree, packed(c.values), c.x, c.grads, c.lr) for c in cases],
                    doing=batch_doing(doings),
                    why=MOVED)
    for case, step in judged(cases, seen, lambda c: f"an SGD step on {c.network}", lambda c: MOVED):
        check_reachable(step["unreachable"])
        values, lr = case.values, case.lr
        params = {key: value.clone().requires_grad_(True) for key, value in values.items()}
        total = sum((reference_forward(case.tree, params, case.x, name) * grad).sum()
                    for name, grad in case.grads.items())
        total.backward()
        expected = {key: (p - lr * p.grad).detach() for key, p in params.items()}
        for key, value in expected.items():
            got = step["after"][key]
            if torch.equal(got, values[key]) and not torch.equal(value, values[key]):
                no_gradient = ("Nothing in forward may .detach() the signal or run it under "
                               "torch.no_grad().")
                fail(f"{pretty(key)} was not changed by an optimizer step over model.parameters() in "
                     f"{case.network}: either parameters() never yields it (an unregistered submodule) or "
                     f"backward never reaches it. {container_hint(step['containers'], key, no_gradient)}")
            assert_close(got, value, f"{pretty(key)} after one SGD step (lr={lr}) on {case.network}",
                         why="backward must reach every parameter, and parameters() must yield each one once.",
                         rtol=1e-6, atol=1e-8)


@given(drawn=cases_of(st.tuples(trees(min_blocks=2), SEEDS), 6))
@examples(2)
def test_each_block_has_its_own_parameters(kata, device, drawn):
    """The blocks are separate Block objects: values written into one position stay out of the others."""
    cases = [(tree, values_for(reference_shapes(tree), seed, dtype=torch.float32)) for tree, seed in drawn]
    seen = kata.run(write_and_read_back, [(tree, packed(values)) for tree, values in cases],
                    doing=batch_doing([describe_tree(tree) for tree, _ in cases]))
    for (tree, values), observed in judged(cases, seen, lambda c: describe_tree(c[0])):
        check_reachable(observed["unreachable"])
        for key, value in values.items():
            got = observed["read"][key]
            if not torch.equal(got, value):
                if key.startswith("blocks."):
                    fail(f"{pretty(key)} does not keep its own value: another block overwrote it. model.blocks "
                         "holds the same Block object more than once ([Block(dim)] * num_blocks repeats one "
                         "module), so every position shares one set of weights. Build a new Block for each position.")
                fail(f"{pretty(key)} does not keep its own value: it shares its tensor with another layer.")
        expected = len(values)
        if observed["parameters"] != expected:
            fail(f"model.parameters() yields {observed['parameters']} tensors for {describe_tree(tree)}, expected "
                 f"{expected}: every block and head has its own parameters, all registered. "
                 f"{container_hint(observed['containers'], 'blocks.' if observed['parameters'] < expected else '')}")


@given(drawn=cases_of(network_cases(dtypes=(torch.float64,)), 6))
@examples(2)
def test_double_and_to_reach_every_submodule(kata, device, drawn):
    """model.to(device).double() casts every parameter of embed, the blocks and the heads to float64."""
    cases = network_cases_on(drawn, device)
    doings = [f"{c.network}.to(device).double()" for c in cases]
    seen = kata.run(moved, [(c.tree, packed(c.values), device, c.x, c.head) for c in cases], doing=batch_doing(doings),
                    why=MOVED)
    for case, observed in judged(cases, seen, lambda c: f"{c.network}.to(device).double()", lambda c: MOVED):
        check_reachable(observed["unreachable"])
        for key, value in observed["read"].items():
            if value.dtype != torch.float64 or value.device.type != device.type:
                fail(f"{pretty(key)} is still {value.dtype} on {value.device.type} after model.to({device.type!r})"
                     f".double(): .to() and .double() only reach registered submodules. "
                     f"{container_hint(observed['containers'], key)}")
        with torch.no_grad():
            expected = reference_forward(case.tree, case.values, case.x, case.head)
        assert_close(observed["out"], expected, f"forward(x, {case.head!r}) in float64 on {case.words} through "
                     f"{case.network}", why=FORWARD_WHY, **tolerance_for(torch.float64))


@given(drawn=cases_of(trees(), 6))
@examples(2)
def test_eval_and_train_reach_every_block_and_head(kata, device, drawn):
    """model.eval() and model.train() switch the mode of every submodule that named_modules() lists."""
    cases = [(tree, reference_paths(tree)) for tree in drawn]
    assert all(paths for _, paths in cases), "the reference network always has submodules"
    doings = [f"{describe_tree(tree)}.eval() / .train()" for tree, _ in cases]
    seen = kata.run(modes, cases, doing=batch_doing(doings))
    for (_, paths), observed in judged(cases, seen, lambda c: f"{describe_tree(c[0])}.eval() / .train()"):
        for step, flags in observed["flags"].items():
            for path in paths:
                flag = flags[path]
                if flag is None:
                    fail(f"{pretty(path)} could not be reached. {PATHS}")
                if flag != (step == "train"):
                    fail(f"after model.{step}(), {pretty(path)} still has training={flag}: .train() and .eval() only "
                         f"reach registered submodules. {container_hint(observed['containers'], path)}")


# ------------------------------------------------------------------------------------------ specs: forward


def _check_head(out, case, head, words, why=FORWARD_WHY):
    x = case.x
    with torch.no_grad():
        expected = reference_forward(case.tree, case.values, x.double(), head)
    if not isinstance(out, torch.Tensor):
        fail(f"forward(x, {head!r}) on {words} returned {type(out).__name__}, expected a tensor.")
    if out.dtype != x.dtype:
        fail(f"forward(x, {head!r}) on {words} returned {out.dtype}: it must keep the model's dtype {x.dtype}.")
    assert_close(out.double(), expected, f"forward(x, {head!r}) on {words}", why=why, **tolerance_for(x.dtype))


def run_networks(kata, cases, doing, why=MOVED, again=False):
    """network_forward on every case (its heads, keyword and no_grad attributes); (case, observation) pairs."""
    inputs = [(c.tree, c.sent, c.x, c.heads, c.keyword, c.no_grad) for c in cases]
    seen = kata.run(network_forward, inputs, again=again, doing=batch_doing([doing(c) for c in cases]), why=why)
    return judged(cases, seen, doing, lambda c: why)


def forward_cases(drawn, device, heads, keyword=False, no_grad=False):
    """NetworkCases that run forward on `heads(case)`, with these keyword / no_grad flags (or one per case)."""
    cases = network_cases_on(drawn, device)
    for i, case in enumerate(cases):
        case.heads = heads(case)
        case.keyword = keyword[i] if isinstance(keyword, list) else keyword
        case.no_grad = no_grad[i] if isinstance(no_grad, list) else no_grad
    return cases


@given(drawn=cases_of(st.tuples(network_cases(), st.booleans()), 6))
@examples(2)
def test_forward_runs_embed_then_each_block_then_the_named_head(kata, device, drawn):
    """forward(x, head) equals heads[head](block_n(...block_1(embed(x)))) on any (*, in_dim) input."""
    cases = forward_cases([d for d, _ in drawn], device, lambda c: [c.head], keyword=[k for _, k in drawn])

    def doing(c):
        call = f"forward(x, head={c.head!r})" if c.keyword else f"forward(x, {c.head!r})"
        return f"{call} on {c.words} through {c.network}"

    for case, seen in run_networks(kata, cases, doing, again=True):
        check_reachable(seen["unreachable"])
        words = f"{case.words} through {case.network}"
        _check_head(seen["out"][case.head], case, case.head, words)
        assert_close(seen["again"][case.head], seen["out"][case.head], f"a second forward(x, {case.head!r}) on {words}",
                     rtol=0, atol=0, why="forward must not change the model.")


@given(drawn=cases_of(network_cases(), 6))
@examples(2)
def test_each_head_name_selects_its_own_head(kata, device, drawn):
    """Every name in heads selects its own head: its output size and its values."""
    cases = forward_cases(drawn, device, lambda c: [name for name, _ in c.tree["heads"]])
    for case, seen in run_networks(kata, cases, lambda c: f"forward on every head of {c.network}"):
        check_reachable(seen["unreachable"])
        for head in case.heads:
            _check_head(seen["out"][head], case, head, f"{case.words} through {case.network}",
                        why=f"The head argument selects which head runs: model.heads[{head!r}].")


@given(drawn=cases_of(network_cases(min_blocks=0, max_blocks=0), 5))
@examples(2)
def test_zero_blocks_give_the_head_of_the_embedding(kata, device, drawn):
    """With num_blocks=0 there are no block keys and forward(x, head) is heads[head](embed(x))."""
    cases = forward_cases(drawn, device, lambda c: [c.tree["heads"][0][0]])
    why = "With num_blocks=0 there is nothing between embed and the head: forward is head(embed(x))."
    states = kata.run(network_state, [(c.tree,) for c in cases],
                      doing=batch_doing([f"{c.network} (num_blocks=0)" for c in cases]))
    for _, observed in judged(cases, states, lambda c: f"{c.network} (num_blocks=0)"):
        extra = [key for key in observed["state"] if not key.startswith(("embed.", "heads."))]
        if extra:
            fail(f"with num_blocks=0 there are no block parameters, yet the state_dict has {extra[:3]}.")
    for case, seen in run_networks(kata, cases, lambda c: f"forward(x, {c.heads[0]!r}) on {c.network}", why):
        _check_head(seen["out"][case.heads[0]], case, case.heads[0], f"{case.words} with num_blocks=0", why=why)


@given(drawn=cases_of(st.tuples(network_cases(), st.booleans()), 6))
@examples(2)
def test_forward_leaves_the_input_and_grad_mode_alone(kata, device, drawn):
    """forward never writes into x nor switches grad mode; under torch.no_grad() it records no history."""
    cases = forward_cases([d for d, _ in drawn], device, lambda c: [c.tree["heads"][-1][0]],
                          no_grad=[flag for _, flag in drawn])
    for case, seen in run_networks(kata, cases, lambda c: f"forward on {c.words} through {c.network}"):
        if seen["x_changed"]:
            fail(f"forward on {case.words} changed the input tensor in place: never modify the caller's x.")
        if not seen["grad_mode_kept"]:
            fail(f"forward on {case.words}{' under torch.no_grad()' if case.no_grad else ''} switched grad mode on "
                 "or off: leave torch.is_grad_enabled() as the caller set it.")
        if case.no_grad and seen["history"]:
            fail(f"under torch.no_grad() the output of forward on {case.words} still records autograd history.")


UNKNOWN = st.sampled_from(["nope", "Cls", "cls_", "heads", "1"])


@given(drawn=cases_of(st.tuples(trees(), UNKNOWN, st.booleans()), 6))
@examples(2)
def test_unknown_head_raises_key_error_listing_the_available_heads(kata, device, drawn):
    """forward(x, unknown) raises KeyError, and its message names every available head."""
    cases = []
    for tree, unknown, keyword in drawn:
        names = [name for name, _ in tree["heads"]]
        if unknown in names:
            unknown = unknown + "_missing"
        cases.append((tree, torch.randn(2, tree["in_dim"], device=device), unknown, keyword))
    seen = kata.run(unknown_head, cases, doing=batch_doing([f"forward(x, {c[2]!r})" for c in cases]))
    for (tree, _, unknown, _), observed in judged(cases, seen, lambda c: f"forward(x, {c[2]!r})"):
        names = [name for name, _ in tree["heads"]]
        raised = observed["raised"]
        if raised is None:
            fail(f"forward(x, {unknown!r}) returned a result for heads {names}: an unknown head must raise KeyError, "
                 "not fall back to some head.")
        if "KeyError" not in raised["types"]:
            fail(f"forward(x, {unknown!r}) raised {raised['type']}: {raised['message']}; an unknown head should "
                 "raise KeyError.")
        absent = [name for name in names if repr(name) not in raised["message"] and name not in raised["message"]]
        if absent:
            fail(f"the KeyError for an unknown head should list the available heads {names}; its message is "
                 f"{raised['message']!r}. Raise KeyError yourself, naming the heads that exist.")


@given(drawn=cases_of(st.tuples(network_cases(dtypes=(torch.float32,)),
                                st.sampled_from(["into the reference", "from it"])), 6))
@examples(2)
def test_state_dict_loads_into_a_reference_network_and_back(kata, device, drawn):
    """state_dict() is interchangeable with the nn.ModuleList / nn.ModuleDict network's, both ways."""
    cases = []
    for (tree, xs, seed), which in drawn:
        theirs = reference(tree, values_for(reference_shapes(tree), seed, device, torch.float32), device, torch.float32)
        cases.append((tree, theirs, xs, xs.make(device), tree["heads"][seed % len(tree["heads"])][0], which))
    def doing(case):
        return f"load_state_dict on {describe_tree(case[0])}"

    seen = kata.run(state_dict_round_trip, [(c[0], c[1].state_dict(), c[3], c[4]) for c in cases],
                    doing=batch_doing([doing(c) for c in cases]), why=KEYS_WHY)
    for (tree, theirs, xs, x, head, which), observed in judged(cases, seen, doing, lambda c: KEYS_WHY):
        assert_keys(observed["own"], theirs.state_dict().keys(), f"state_dict() keys of {describe_tree(tree)}",
                    why=KEYS_WHY)
        if which == "into the reference":
            ours = reference(tree, observed["own"], device, torch.float32)
            with torch.no_grad():
                expected = ours(x, head)
            assert_close(observed["own_out"], expected, f"forward(x, {head!r}) compared with the reference network "
                         f"loaded from your state_dict, on {xs.describe()}", why=FORWARD_WHY, rtol=1e-3, atol=1e-3)
        else:
            with torch.no_grad():
                expected = theirs(x, head)
            assert_close(observed["loaded_out"], expected, f"forward(x, {head!r}) after loading the reference "
                         f"state_dict, on {xs.describe()}", why=FORWARD_WHY, rtol=1e-3, atol=1e-3)


@given(drawn=cases_of(trees(), 5))
@examples(2)
def test_the_callers_heads_dict_is_left_alone(kata, device, drawn):
    """Building the network and running every head leaves the caller's heads dict as it was."""
    cases = [(tree, torch.randn(3, tree["in_dim"], device=device)) for tree in drawn]
    seen = kata.run(heads_dict_after, cases, doing=batch_doing([describe_tree(tree) for tree in drawn]))
    for (tree, _), observed in judged(cases, seen, lambda c: describe_tree(c[0])):
        before = [list(pair) for pair in tree["heads"]]
        for when in ("after_init", "after_forward"):
            if [list(pair) for pair in observed[when]] != before:
                fail(f"the caller's heads dict {dict(tree['heads'])} became {dict(observed[when])} "
                     f"{'during construction' if when == 'after_init' else 'during forward'}: read it, never "
                     "modify it.")
