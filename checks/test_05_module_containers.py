"""Kata 05: Block and MultiHeadNetwork, submodules kept in registering containers.

Every spec is judged outside the learner's process. The judge draws a network DESCRIPTION (in_dim, dim,
num_blocks, and an ordered list of (head name, out size) pairs, with private names such as `_aux`,
digit names such as `0`, one to four heads, zero to four blocks), sends it to a probe that builds the
learner's MultiHeadNetwork from it, and builds its own copy from real torch (nn.Linear, nn.LayerNorm,
nn.ModuleList, nn.ModuleDict). That copy's state_dict() and named_modules() are the oracle for names and
shapes; its forward and a manual SGD step are the oracle for values. Values reach the learner's layers
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

import torch
import torch.nn.functional as F
from torch import nn

from kata_runner.asserts import assert_close, assert_keys, fail
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


@probe
def block_state(impl, dim):
    block = impl.Block(dim)
    return snapshot(block.state_dict())


@probe
def block_forward(impl, dim, values, x, no_grad=False):
    block = impl.Block(dim).to(device=x.device, dtype=x.dtype)
    unreachable = _write(block, values)
    x_before = x.clone()
    before = torch.is_grad_enabled()
    if no_grad:
        with torch.no_grad():
            out = block(x)
    else:
        out = block(x)
    return {
        "unreachable": unreachable,
        "out": out.detach(),
        "x_changed": not torch.equal(x, x_before),
        "grad_mode_kept": torch.is_grad_enabled() == before,
        "history": out.grad_fn is not None or out.requires_grad,
    }


@probe
def network_state(impl, tree):
    model = _network(impl, tree)
    return {"state": snapshot(model.state_dict()), "containers": _containers(model)}


@probe
def network_forward(impl, tree, values, x, heads, keyword=False, no_grad=False):
    model = _network(impl, tree).to(device=x.device, dtype=x.dtype)
    unreachable = _write(model, values)
    x_before = x.clone()
    before = torch.is_grad_enabled()
    outs, again, history = {}, {}, False
    for head in heads:
        if no_grad:
            with torch.no_grad():
                out = model(x, head=head) if keyword else model(x, head)
        else:
            out = model(x, head=head) if keyword else model(x, head)
        history = history or out.grad_fn is not None or out.requires_grad
        outs[head] = out.detach()
        again[head] = model(x, head).detach()
    return {
        "unreachable": unreachable,
        "out": outs,
        "again": again,
        "x_changed": not torch.equal(x, x_before),
        "grad_mode_kept": torch.is_grad_enabled() == before,
        "history": history,
        "containers": _containers(model),
    }


@probe
def sgd_step(impl, tree, values, x, grads, lr):
    """What every optimizer does: update whatever parameters() yields, by its gradient."""
    model = _network(impl, tree).to(device=x.device, dtype=x.dtype)
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
def write_and_read_back(impl, tree, values):
    model = _network(impl, tree)
    unreachable = _write(model, values)
    return {"unreachable": unreachable, "read": _read(model, list(values)),
            "parameters": len(list(model.parameters())), "containers": _containers(model)}


@probe
def moved(impl, tree, values, device, x, head):
    model = _network(impl, tree).to(device).double()
    unreachable = _write(model, values)
    return {"unreachable": unreachable, "read": _read(model, list(values)), "out": model(x, head).detach(),
            "containers": _containers(model)}


@probe
def modes(impl, tree, paths):
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
def unknown_head(impl, tree, x, name, keyword):
    model = _network(impl, tree).to(x.device)
    res = outcome(model, x, head=name) if keyword else outcome(model, x, name)
    return {"raised": res["raised"]}


@probe
def state_dict_round_trip(impl, tree, foreign_state, x, head):
    model = _network(impl, tree).to(x.device)
    own = snapshot(model.state_dict())
    own_out = model(x, head).detach()
    model.load_state_dict(foreign_state)
    return {"own": own, "own_out": own_out, "loaded_out": model(x, head).detach()}


@probe
def heads_dict_after(impl, tree, x):
    heads = dict(tree["heads"])
    model = _network(impl, tree, heads).to(x.device)
    after_init = list(heads.items())
    for name in list(heads):
        model(x, name)
    return {"after_init": after_init, "after_forward": list(heads.items())}


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


def reference(tree, values=None, device="cpu", dtype=torch.float64):
    model = ReferenceNetwork(tree["in_dim"], tree["dim"], tree["num_blocks"], dict(tree["heads"]))
    model = model.to(device=device, dtype=dtype)
    if values is not None:
        model.load_state_dict(values)
    return model


def values_for(module, seed, device="cpu", dtype=torch.float64):
    """Judge-drawn values for every entry of a reference module's state_dict: norm scales in [0.5, 1.5],
    weights scaled by 1/sqrt(fan_in) so that activations stay moderate through the blocks."""
    generator = torch.Generator().manual_seed(seed)
    values = {}
    for key, t in module.state_dict().items():
        noise = torch.randn(t.shape, generator=generator, dtype=torch.float64)
        if key.endswith("norm.weight"):
            v = torch.rand(t.shape, generator=generator, dtype=torch.float64) + 0.5
        elif key.endswith("weight"):
            v = noise / max(1, t.shape[-1]) ** 0.5 * 1.5
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


@st.composite
def trees(draw, min_blocks=0, max_blocks=4):
    names = draw(st.lists(st.sampled_from(HEAD_NAMES), min_size=1, max_size=4, unique=True))
    outs = [draw(sizes(1, 4)) for _ in names]
    return {
        "in_dim": draw(sizes(1, 6)),
        "dim": draw(sizes(2, 6)),
        "num_blocks": draw(st.integers(min_blocks, max_blocks)),
        "heads": [[name, out] for name, out in zip(names, outs)],
    }


def describe_tree(tree):
    heads = ", ".join(f"{name!r}: {out}" for name, out in tree["heads"])
    return f"MultiHeadNetwork({tree['in_dim']}, {tree['dim']}, {tree['num_blocks']}, {{{heads}}})"


@st.composite
def network_cases(draw, min_blocks=0, max_blocks=4, dtypes=(torch.float32, torch.float64)):
    tree = draw(trees(min_blocks, max_blocks))
    xs = draw(tensors((tree["in_dim"],), dtypes=dtypes, max_side=4))
    seed = draw(st.integers(0, 2**16))
    return tree, xs, seed


# ------------------------------------------------------------------------------------------ specs: Block


@given(dim=sizes(1, 12))
@examples(4)
def test_block_state_dict_holds_linear_and_norm(kata, device, dim):
    """Block(dim)'s state_dict is exactly linear.weight (dim, dim), linear.bias, norm.weight and norm.bias."""
    state = kata.run(block_state, dim, doing=f"Block({dim})")
    expected = ReferenceBlock(dim).state_dict()
    assert_keys(state, expected.keys(), f"Block({dim}).state_dict() keys",
                why="Block holds `linear`, an nn.Linear(dim, dim), and `norm`, an nn.LayerNorm(dim).")
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            fail(f"Block({dim}).{key} has shape {tuple(state[key].shape)}, expected {tuple(value.shape)}: "
                 "linear maps dim -> dim and norm is a LayerNorm over dim.")


@st.composite
def block_cases(draw, dtypes=(torch.float32, torch.float64),
                layouts=("contiguous", "transposed", "sliced", "expanded")):
    dim = draw(sizes(1, 6))
    xs = draw(tensors((dim,), dtypes=dtypes, layouts=layouts, max_side=4))
    return dim, xs, draw(st.integers(0, 2**16))


def _block_values(dim, seed, device, dtype):
    block = ReferenceBlock(dim).double()
    values = values_for(block, seed)
    block.load_state_dict(values)
    return block, values, {k: v.to(device=device, dtype=dtype) for k, v in values.items()}


@given(case=block_cases())
@examples(10)
def test_block_forward_is_norm_of_relu_linear_plus_residual(kata, device, case):
    """Block.forward computes norm(relu(linear(x)) + x) on inputs of shape (*, dim)."""
    dim, xs, seed = case
    x = xs.make(device)
    block, values, sent = _block_values(dim, seed, device, x.dtype)
    seen = kata.run(block_forward, dim, sent, x, doing=f"Block({dim}) forward on {xs.describe()}")
    check_reachable(seen["unreachable"])
    x64 = x.double().cpu()
    with torch.no_grad():
        expected = block(x64)
        lin = block.linear(x64)

        def ln(t):
            return F.layer_norm(t, (dim,), values["norm.weight"], values["norm.bias"], EPS)

        wrong = {
            "the residual connection is missing: add the block's input x back before the LayerNorm.": ln(F.relu(lin)),
            "the LayerNorm comes before the residual add: apply it after the residual, to the sum.":
                ln(F.relu(lin)) + x64,
            "the ReLU is missing: apply relu to linear(x) before the residual add.": ln(lin + x64),
            "the ReLU is applied after the residual add: relu(linear(x)) first, then + x.": ln(F.relu(lin + x64)),
            "the LayerNorm is never applied: normalise relu(linear(x)) + x with self.norm.": F.relu(lin) + x64,
        }
    out = seen["out"]
    tol = tolerance_for(x.dtype)
    if isinstance(out, torch.Tensor) and out.shape == expected.shape:
        got = out.double().cpu()
        if not torch.allclose(got, expected, **tol):
            for message, value in wrong.items():
                if not torch.allclose(value, expected, **tol) and torch.allclose(got, value, **tol):
                    fail(f"Block.forward on {xs.describe()}: {message} {BLOCK_FORMULA}")
    if isinstance(out, torch.Tensor) and out.dtype != x.dtype:
        fail(f"Block.forward on {xs.describe()} returned {out.dtype}: it must keep the block's dtype {x.dtype}.")
    assert_close(out.double().cpu(), expected, f"Block.forward on {xs.describe()}", why=BLOCK_FORMULA, **tol)


@given(case=block_cases(layouts=("contiguous", "transposed", "sliced")), no_grad=st.booleans())
@examples(6)
def test_block_forward_leaves_its_input_alone(kata, device, case, no_grad):
    """Block.forward never writes into x nor switches grad mode; under torch.no_grad() it records no history."""
    dim, xs, seed = case
    x = xs.make(device)
    _, _, sent = _block_values(dim, seed, device, x.dtype)
    seen = kata.run(block_forward, dim, sent, x, no_grad, doing=f"Block({dim}) forward on {xs.describe()}")
    if seen["x_changed"]:
        fail(f"Block.forward on {xs.describe()} changed the input tensor in place (x += ...?): never modify the "
             "caller's x; add the residual out of place.")
    if not seen["grad_mode_kept"]:
        fail("Block.forward switched grad mode on or off: leave torch.is_grad_enabled() as the caller set it.")
    if no_grad and seen["history"]:
        fail("under torch.no_grad() the output of Block.forward still records autograd history.")


# ------------------------------------------------------------------------------------------ specs: structure


@given(tree=trees())
@examples(8)
def test_state_dict_keys_name_every_block_and_head(kata, device, tree):
    """state_dict() keys and shapes match nn.ModuleList / nn.ModuleDict: embed.*, blocks.<i>.*, heads.<name>.*."""
    seen = kata.run(network_state, tree, doing=describe_tree(tree))
    expected = reference(tree).state_dict()
    got = seen["state"]
    missing = [key for key in expected if key not in got]
    why = KEYS_WHY + (f" {container_hint(seen['containers'], missing[0])}" if missing else "")
    assert_keys(got, expected.keys(), f"state_dict() keys of {describe_tree(tree)}", why=why)
    for key, value in expected.items():
        if tuple(got[key].shape) != tuple(value.shape):
            fail(f"{key} has shape {tuple(got[key].shape)} in {describe_tree(tree)}, expected {tuple(value.shape)}: "
                 "embed maps in_dim -> dim, each block dim -> dim, each head dim -> its out size.")


@given(case=network_cases(), lr=st.sampled_from([0.1, 0.5]))
@examples(8)
def test_an_optimizer_step_updates_every_parameter(kata, device, case, lr):
    """An SGD step over model.parameters() updates embed, every block and every head as it does the reference."""
    tree, xs, seed = case
    x = xs.make(device).double()
    ref = reference(tree, device=device)
    values = values_for(ref, seed, device)
    ref.load_state_dict(values)
    generator = torch.Generator().manual_seed(seed + 1)
    grads = {name: torch.randn((*x.shape[:-1], out), generator=generator, dtype=torch.float64).to(device)
             for name, out in tree["heads"]}
    seen = kata.run(sgd_step, tree, values, x, grads, lr, doing=f"an SGD step on {describe_tree(tree)}", why=MOVED)
    check_reachable(seen["unreachable"])
    total = sum((ref(x, name) * grad).sum() for name, grad in grads.items())
    total.backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= lr * p.grad
    expected = ref.state_dict()
    for key, value in expected.items():
        got = seen["after"][key]
        if torch.equal(got, values[key]) and not torch.equal(value, values[key]):
            no_gradient = ("Nothing in forward may .detach() the signal or run it under "
                           "torch.no_grad().")
            fail(f"{pretty(key)} was not changed by an optimizer step over model.parameters() in "
                 f"{describe_tree(tree)}: either parameters() never yields it (an unregistered submodule) or "
                 f"backward never reaches it. {container_hint(seen['containers'], key, no_gradient)}")
        assert_close(got, value, f"{pretty(key)} after one SGD step (lr={lr}) on {describe_tree(tree)}",
                     why="backward must reach every parameter, and parameters() must yield each one once.",
                     rtol=1e-6, atol=1e-8)


@given(tree=trees(min_blocks=2), seed=st.integers(0, 2**16))
@examples(6)
def test_each_block_has_its_own_parameters(kata, device, tree, seed):
    """The blocks are separate Block objects: values written into one position stay out of the others."""
    ref = reference(tree, dtype=torch.float32)
    values = values_for(ref, seed, dtype=torch.float32)
    seen = kata.run(write_and_read_back, tree, values, doing=describe_tree(tree))
    check_reachable(seen["unreachable"])
    for key, value in values.items():
        got = seen["read"][key]
        if not torch.equal(got, value):
            if key.startswith("blocks."):
                fail(f"{pretty(key)} does not keep its own value: another block overwrote it. model.blocks holds "
                     "the same Block object more than once ([Block(dim)] * num_blocks repeats one module), so every "
                     "position shares one set of weights. Build a new Block for each position.")
            fail(f"{pretty(key)} does not keep its own value: it shares its tensor with another layer.")
    expected = len(list(ref.parameters()))
    if seen["parameters"] != expected:
        fail(f"model.parameters() yields {seen['parameters']} tensors for {describe_tree(tree)}, expected "
             f"{expected}: every block and head has its own parameters, all registered. "
             f"{container_hint(seen['containers'], 'blocks.' if seen['parameters'] < expected else '')}")


@given(case=network_cases(dtypes=(torch.float64,)))
@examples(6)
def test_double_and_to_reach_every_submodule(kata, device, case):
    """model.to(device).double() casts every parameter of embed, the blocks and the heads to float64."""
    tree, xs, seed = case
    x = xs.make(device)
    head = tree["heads"][seed % len(tree["heads"])][0]
    ref = reference(tree, device=device)
    values = values_for(ref, seed, device)
    seen = kata.run(moved, tree, values, device, x, head, doing=f"{describe_tree(tree)}.to(device).double()",
                    why=MOVED)
    check_reachable(seen["unreachable"])
    for key, value in seen["read"].items():
        if value.dtype != torch.float64 or value.device.type != device.type:
            fail(f"{pretty(key)} is still {value.dtype} on {value.device.type} after model.to({device.type!r})"
                 f".double(): .to() and .double() only reach registered submodules. "
                 f"{container_hint(seen['containers'], key)}")
    ref.load_state_dict(values)
    with torch.no_grad():
        expected = ref(x, head)
    assert_close(seen["out"], expected, f"forward(x, {head!r}) in float64 on {xs.describe()}", why=FORWARD_WHY,
                 **tolerance_for(torch.float64))


@given(tree=trees())
@examples(6)
def test_eval_and_train_reach_every_block_and_head(kata, device, tree):
    """model.eval() and model.train() switch the mode of every submodule that named_modules() lists."""
    paths = [name for name, _ in reference(tree).named_modules() if name]
    assert paths, "the reference network always has submodules"
    seen = kata.run(modes, tree, paths, doing=f"{describe_tree(tree)}.eval() / .train()")
    for step, flags in seen["flags"].items():
        for path in paths:
            flag = flags[path]
            if flag is None:
                fail(f"{pretty(path)} could not be reached. {PATHS}")
            if flag != (step == "train"):
                fail(f"after model.{step}(), {pretty(path)} still has training={flag}: .train() and .eval() only "
                     f"reach registered submodules. {container_hint(seen['containers'], path)}")


# ------------------------------------------------------------------------------------------ specs: forward


def _forward_case(tree, xs, seed, device):
    x = xs.make(device)
    ref = reference(tree, device=device)
    values = values_for(ref, seed, device)
    ref.load_state_dict(values)
    sent = {k: v.to(x.dtype) for k, v in values.items()}
    return x, ref, sent


def _check_head(out, ref, x, head, words, why=FORWARD_WHY):
    with torch.no_grad():
        expected = ref(x.double(), head)
    if not isinstance(out, torch.Tensor):
        fail(f"forward(x, {head!r}) on {words} returned {type(out).__name__}, expected a tensor.")
    if out.dtype != x.dtype:
        fail(f"forward(x, {head!r}) on {words} returned {out.dtype}: it must keep the model's dtype {x.dtype}.")
    assert_close(out.double(), expected, f"forward(x, {head!r}) on {words}", why=why, **tolerance_for(x.dtype))


@given(case=network_cases(), keyword=st.booleans())
@examples(12)
def test_forward_runs_embed_then_each_block_then_the_named_head(kata, device, case, keyword):
    """forward(x, head) equals heads[head](block_n(...block_1(embed(x)))) on any (*, in_dim) input."""
    tree, xs, seed = case
    x, ref, sent = _forward_case(tree, xs, seed, device)
    head = tree["heads"][seed % len(tree["heads"])][0]
    call = f"forward(x, head={head!r})" if keyword else f"forward(x, {head!r})"
    seen = kata.run(network_forward, tree, sent, x, [head], keyword, doing=f"{call} on {xs.describe()}", why=MOVED)
    check_reachable(seen["unreachable"])
    words = f"{xs.describe()} through {describe_tree(tree)}"
    _check_head(seen["out"][head], ref, x, head, words)
    assert_close(seen["again"][head], seen["out"][head], f"a second forward(x, {head!r}) on {words}", rtol=0, atol=0,
                 why="forward must not change the model.")


@given(case=network_cases())
@examples(6)
def test_each_head_name_selects_its_own_head(kata, device, case):
    """Every name in heads selects its own head: its output size and its values."""
    tree, xs, seed = case
    x, ref, sent = _forward_case(tree, xs, seed, device)
    names = [name for name, _ in tree["heads"]]
    seen = kata.run(network_forward, tree, sent, x, names, doing=f"forward on every head of {describe_tree(tree)}",
                    why=MOVED)
    check_reachable(seen["unreachable"])
    for head in names:
        _check_head(seen["out"][head], ref, x, head, f"{xs.describe()} through {describe_tree(tree)}",
                    why=f"The head argument selects which head runs: model.heads[{head!r}].")


@given(case=network_cases(min_blocks=0, max_blocks=0))
@examples(5)
def test_zero_blocks_give_the_head_of_the_embedding(kata, device, case):
    """With num_blocks=0 there are no block keys and forward(x, head) is heads[head](embed(x))."""
    tree, xs, seed = case
    x, ref, sent = _forward_case(tree, xs, seed, device)
    head = tree["heads"][0][0]
    why = "With num_blocks=0 there is nothing between embed and the head: forward is head(embed(x))."
    state = kata.run(network_state, tree, doing=f"{describe_tree(tree)} (num_blocks=0)")["state"]
    extra = [key for key in state if not key.startswith(("embed.", "heads."))]
    if extra:
        fail(f"with num_blocks=0 there are no block parameters, yet the state_dict has {extra[:3]}.")
    seen = kata.run(network_forward, tree, sent, x, [head], doing=f"forward(x, {head!r}) with num_blocks=0", why=why)
    _check_head(seen["out"][head], ref, x, head, f"{xs.describe()} with num_blocks=0", why=why)


@given(case=network_cases(), no_grad=st.booleans())
@examples(8)
def test_forward_leaves_the_input_and_grad_mode_alone(kata, device, case, no_grad):
    """forward never writes into x nor switches grad mode; under torch.no_grad() it records no history."""
    tree, xs, seed = case
    x, ref, sent = _forward_case(tree, xs, seed, device)
    head = tree["heads"][-1][0]
    seen = kata.run(network_forward, tree, sent, x, [head], False, no_grad, doing=f"forward on {xs.describe()}",
                    why=MOVED)
    if seen["x_changed"]:
        fail(f"forward on {xs.describe()} changed the input tensor in place: never modify the caller's x.")
    if not seen["grad_mode_kept"]:
        fail("forward switched grad mode on or off: leave torch.is_grad_enabled() as the caller set it.")
    if no_grad and seen["history"]:
        fail("under torch.no_grad() the output of forward still records autograd history.")


@given(tree=trees(), unknown=st.sampled_from(["nope", "Cls", "cls_", "heads", "1"]), keyword=st.booleans())
@examples(6)
def test_unknown_head_raises_key_error_listing_the_available_heads(kata, device, tree, unknown, keyword):
    """forward(x, unknown) raises KeyError, and its message names every available head."""
    names = [name for name, _ in tree["heads"]]
    if unknown in names:
        unknown = unknown + "_missing"
    x = torch.randn(2, tree["in_dim"], device=device)
    seen = kata.run(unknown_head, tree, x, unknown, keyword, doing=f"forward(x, {unknown!r})")
    raised = seen["raised"]
    if raised is None:
        fail(f"forward(x, {unknown!r}) returned a result for heads {names}: an unknown head must raise KeyError, "
             "not fall back to some head.")
    if "KeyError" not in raised["types"]:
        fail(f"forward(x, {unknown!r}) raised {raised['type']}: {raised['message']}; an unknown head should raise "
             "KeyError.")
    absent = [name for name in names if repr(name) not in raised["message"] and name not in raised["message"]]
    if absent:
        fail(f"the KeyError for an unknown head should list the available heads {names}; its message is "
             f"{raised['message']!r}. Raise KeyError yourself, naming the heads that exist.")


@given(case=network_cases(dtypes=(torch.float32,)), which=st.sampled_from(["into the reference", "from it"]))
@examples(8)
def test_state_dict_loads_into_a_reference_network_and_back(kata, device, case, which):
    """state_dict() is interchangeable with the nn.ModuleList / nn.ModuleDict network's, both ways."""
    tree, xs, seed = case
    x = xs.make(device)
    head = tree["heads"][seed % len(tree["heads"])][0]
    theirs = reference(tree, device=device, dtype=torch.float32)
    theirs.load_state_dict(values_for(theirs, seed, device, torch.float32))
    seen = kata.run(state_dict_round_trip, tree, theirs.state_dict(), x, head, doing="load_state_dict", why=KEYS_WHY)
    assert_keys(seen["own"], theirs.state_dict().keys(), f"state_dict() keys of {describe_tree(tree)}", why=KEYS_WHY)
    if which == "into the reference":
        ours = reference(tree, device=device, dtype=torch.float32)
        ours.load_state_dict(seen["own"])
        with torch.no_grad():
            expected = ours(x, head)
        assert_close(seen["own_out"], expected, f"forward(x, {head!r}) compared with the reference network loaded "
                     f"from your state_dict, on {xs.describe()}", why=FORWARD_WHY, rtol=1e-3, atol=1e-3)
    else:
        with torch.no_grad():
            expected = theirs(x, head)
        assert_close(seen["loaded_out"], expected, f"forward(x, {head!r}) after loading the reference state_dict, "
                     f"on {xs.describe()}", why=FORWARD_WHY, rtol=1e-3, atol=1e-3)


@given(tree=trees())
@examples(5)
def test_the_callers_heads_dict_is_left_alone(kata, device, tree):
    """Building the network and running every head leaves the caller's heads dict as it was."""
    x = torch.randn(3, tree["in_dim"], device=device)
    seen = kata.run(heads_dict_after, tree, x, doing=describe_tree(tree))
    before = [list(pair) for pair in tree["heads"]]
    for when in ("after_init", "after_forward"):
        if [list(pair) for pair in seen[when]] != before:
            fail(f"the caller's heads dict {dict(tree['heads'])} became {dict(seen[when])} "
                 f"{'during construction' if when == 'after_init' else 'during forward'}: read it, never modify it.")
