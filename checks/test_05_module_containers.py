"""Kata 05: Block and MultiHeadNetwork, submodules kept in registering containers. One behaviour per spec."""

import torch
import torch.nn.functional as F
from torch import nn

from kata_runner.asserts import (
    assert_close,
    assert_keys,
    assert_shape,
    attempt,
    fail,
)

HEADS = {"cls": 3, "reg": 1}
IN_DIM, DIM, NUM_BLOCKS = 5, 8, 2
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


def make_block(kata, device, dim=4):
    block = attempt(kata.Block, dim, doing=f"Block({dim})")
    return attempt(block.to, device, doing=f"Block({dim}).to({device.type!r})")


def make_network(kata, device, num_blocks=NUM_BLOCKS, heads=None):
    heads = dict(HEADS if heads is None else heads)
    args = (IN_DIM, DIM, num_blocks, heads)
    model = attempt(kata.MultiHeadNetwork, *args, doing=f"MultiHeadNetwork{args}")
    return attempt(model.to, device, doing=f"MultiHeadNetwork.to({device.type!r})")


def part(obj, name, owner):
    if not hasattr(obj, name):
        fail(f"{owner} has no attribute '{name}'.")
    return getattr(obj, name)


def blocks_of(model):
    blocks = part(model, "blocks", "MultiHeadNetwork")
    return [blocks[i] for i in range(len(blocks))]


def head_of(model, name):
    heads = part(model, "heads", "MultiHeadNetwork")
    if name not in heads:
        fail(f"model.heads has no head named {name!r}: build one nn.Linear(dim, out) per entry of heads.")
    return heads[name]


def reachable(model, heads=None):
    """Every parameter reachable through the public API, named like its state_dict key."""
    found = {}
    embed = part(model, "embed", "MultiHeadNetwork")
    for p in ("weight", "bias"):
        found[f"embed.{p}"] = part(embed, p, "model.embed")
    for i, block in enumerate(blocks_of(model)):
        for sub in ("linear", "norm"):
            layer = part(block, sub, f"model.blocks[{i}]")
            for p in ("weight", "bias"):
                found[f"blocks.{i}.{sub}.{p}"] = part(layer, p, f"model.blocks[{i}].{sub}")
    for name in HEADS if heads is None else heads:
        head = head_of(model, name)
        for p in ("weight", "bias"):
            found[f"heads.{name}.{p}"] = part(head, p, f"model.heads[{name!r}]")
    return found


def container_hint(model, key):
    """Why the submodule holding parameter `key` may be invisible to the network."""
    for attr, fix in (("blocks", "nn.ModuleList"), ("heads", "nn.ModuleDict")):
        container = getattr(model, attr, None)
        if key.startswith(attr + ".") and not isinstance(container, nn.Module):
            return (
                f"model.{attr} is a plain Python {type(container).__name__}, which nn.Module does not look "
                f"inside: the modules in it are not registered. Use {fix}."
            )
    return "Register every submodule: assign it as an attribute or keep it in nn.ModuleList / nn.ModuleDict."


def reference_block(block, x):
    norm = block.norm
    h = F.relu(F.linear(x, block.linear.weight, block.linear.bias)) + x
    return F.layer_norm(h, (x.shape[-1],), norm.weight, norm.bias, getattr(norm, "eps", 1e-5))


def reference_forward(model, x, head):
    with torch.no_grad():
        h = F.linear(x, model.embed.weight, model.embed.bias)
        for block in blocks_of(model):
            h = reference_block(block, h)
        out = head_of(model, head)
        return F.linear(h, out.weight, out.bias)


def randomise_block(block, device):
    linear, norm = part(block, "linear", "Block"), part(block, "norm", "Block")
    dim = linear.weight.shape[0]
    with torch.no_grad():
        linear.weight.copy_(torch.randn(dim, dim, device=device))
        linear.bias.copy_(torch.randn(dim, device=device))
        norm.weight.copy_(torch.rand(dim, device=device) + 0.5)
        norm.bias.copy_(torch.randn(dim, device=device))


def test_block_has_a_dim_by_dim_linear_and_a_layernorm(kata, device):
    """Block(dim) has `linear` (dim -> dim) and `norm` (a LayerNorm over dim)."""
    block = make_block(kata, device, dim=6)
    weight = part(part(block, "linear", "Block"), "weight", "Block.linear")
    assert_shape(weight, (6, 6), "Block(6).linear.weight", why="The linear layer maps dim -> dim.")
    norm = part(block, "norm", "Block")
    if not isinstance(norm, nn.LayerNorm):
        fail(f"Block.norm is a {type(norm).__name__}, expected an nn.LayerNorm(dim).")
    assert_shape(part(norm, "weight", "Block.norm"), (6,), "Block(6).norm.weight")


def test_block_state_dict_has_linear_and_norm_keys(kata, device):
    """A Block's state_dict holds exactly linear.weight, linear.bias, norm.weight and norm.bias."""
    block = make_block(kata, device)
    state = attempt(block.state_dict, doing="Block.state_dict()")
    assert_keys(state, ["linear.weight", "linear.bias", "norm.weight", "norm.bias"], "Block.state_dict()")


def test_block_forward_is_norm_of_relu_linear_plus_residual(kata, device):
    """Block.forward computes norm(relu(linear(x)) + x)."""
    block = make_block(kata, device)
    randomise_block(block, device)
    x = torch.randn(6, 4, device=device)
    out = attempt(block, x, doing="Block.forward on a (6, 4) input")
    expected = reference_block(block, x).detach()
    with torch.no_grad():
        lin = F.linear(x, block.linear.weight, block.linear.bias)
        norm = block.norm
        eps = getattr(norm, "eps", 1e-5)
        ln = lambda t: F.layer_norm(t, (4,), norm.weight, norm.bias, eps)  # noqa: E731
        wrong = {
            "the residual connection is missing: add the block's input x back before the LayerNorm.":
                ln(F.relu(lin)),
            "the LayerNorm comes before the residual add: apply it after the residual, to the sum.":
                ln(F.relu(lin)) + x,
            "the ReLU is missing: apply relu to linear(x) before the residual add.": ln(lin + x),
            "the LayerNorm is never applied: normalise relu(linear(x)) + x with self.norm.": F.relu(lin) + x,
        }
    comparable = torch.is_tensor(out) and (out.shape, out.dtype, out.device) == (
        expected.shape, expected.dtype, expected.device
    )
    if comparable and not torch.allclose(out.detach(), expected, atol=1e-5):
        for message, value in wrong.items():
            if torch.allclose(out.detach(), value, atol=1e-5):
                fail(f"Block.forward: {message} {BLOCK_FORMULA}")
    assert_close(out, expected, "Block.forward(x)", why=BLOCK_FORMULA)


def test_network_has_embed_blocks_and_one_head_per_name(kata, device):
    """MultiHeadNetwork has embed (in_dim -> dim), num_blocks Blocks and one Linear(dim, out) per head."""
    model = make_network(kata, device, num_blocks=3)
    assert_shape(part(part(model, "embed", "MultiHeadNetwork"), "weight", "model.embed"), (DIM, IN_DIM),
                 "model.embed.weight", why="embed maps in_dim -> dim.")
    blocks = blocks_of(model)
    if len(blocks) != 3:
        fail(f"model.blocks holds {len(blocks)} blocks for num_blocks=3.")
    for i, block in enumerate(blocks):
        if not isinstance(block, kata.Block):
            fail(f"model.blocks[{i}] is a {type(block).__name__}, expected a Block.")
    heads = part(model, "heads", "MultiHeadNetwork")
    if sorted(heads.keys()) != sorted(HEADS):
        fail(f"model.heads has the names {sorted(heads.keys())}, expected one head per name {sorted(HEADS)}.")
    for name, out in HEADS.items():
        assert_shape(part(head_of(model, name), "weight", f"model.heads[{name!r}]"), (out, DIM),
                     f"model.heads[{name!r}].weight", why="Each head is an nn.Linear(dim, out).")


def test_state_dict_keys_name_every_block_and_head(kata, device):
    """state_dict() keys are embed.*, blocks.<i>.linear.* / blocks.<i>.norm.* and heads.<name>.*."""
    model = make_network(kata, device)
    expected = ["embed.weight", "embed.bias"]
    for i in range(NUM_BLOCKS):
        expected += [f"blocks.{i}.{sub}.{p}" for sub in ("linear", "norm") for p in ("weight", "bias")]
    expected += [f"heads.{name}.{p}" for name in HEADS for p in ("weight", "bias")]
    state = attempt(model.state_dict, doing="MultiHeadNetwork.state_dict()")
    assert_keys(state, expected, "MultiHeadNetwork.state_dict() keys", why=KEYS_WHY)


def test_every_parameter_is_registered_with_the_network(kata, device):
    """Every Block's and every head's parameters appear in model.parameters()."""
    model = make_network(kata, device)
    params = reachable(model)
    registered = {id(p) for p in attempt(model.parameters, doing="model.parameters()")}
    missing = [key for key, p in params.items() if id(p) not in registered]
    if missing:
        fail(
            f"{len(missing)} parameter(s) are not registered with the network, e.g. {missing[:3]}: "
            f"parameters(), state_dict(), .to() and optimizers never see them. "
            f"{container_hint(model, missing[0])}"
        )


def test_each_block_has_its_own_parameters(kata, device):
    """The blocks are separate Block objects with separate weights, not one Block repeated."""
    model = make_network(kata, device, num_blocks=3)
    blocks = blocks_of(model)
    if len({id(b) for b in blocks}) < len(blocks):
        fail(
            "model.blocks holds the same Block object more than once ([Block(dim)] * num_blocks repeats one "
            "module): every position shares one set of weights. Build a new Block for each position."
        )
    params = reachable(model)
    seen = {}
    for key, p in params.items():
        if id(p) in seen:
            fail(f"{key} is the same Parameter as {seen[id(p)]}: weights are shared. Build a new Block each.")
        seen[id(p)] = key


def sgd_step(params, lr):
    """What torch.optim.SGD.step does with the list it was given (building a torch.optim optimizer
    imports torch._dynamo, which re-wraps torch.manual_seed and trips the harness's tamper check)."""
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.sub_(lr * p.grad)


def test_an_optimizer_step_updates_every_parameter(kata, device):
    """An SGD step on model.parameters() changes every embed, block and head parameter."""
    model = make_network(kata, device)
    params = reachable(model)
    before = {key: p.detach().clone() for key, p in params.items()}
    seen_by_optimizer = list(attempt(model.parameters, doing="model.parameters()"))
    x = torch.randn(4, IN_DIM, device=device)
    loss = 0
    for name, out in HEADS.items():
        y = attempt(model, x, name, doing=f"forward(x, {name!r})", why=MOVED)
        loss = loss + (y * torch.randn(4, out, device=device)).sum()
    loss.backward()
    sgd_step(seen_by_optimizer, lr=0.1)
    for key, p in params.items():
        if torch.equal(p.detach(), before[key]):
            fail(
                f"an SGD step never updated {key}: an optimizer built from model.parameters() only trains "
                f"registered parameters. {container_hint(model, key)}"
            )


def test_to_device_and_double_reach_every_parameter(kata, device):
    """model.to(device).double() moves and casts every parameter, and forward then runs in float64."""
    args = (IN_DIM, DIM, NUM_BLOCKS, dict(HEADS))
    model = attempt(kata.MultiHeadNetwork, *args, doing=f"MultiHeadNetwork{args}")
    model = attempt(lambda: model.to(device).double(), doing=f"model.to({device.type!r}).double()")
    for key, p in reachable(model).items():
        if p.device.type != device.type or p.dtype != torch.float64:
            fail(
                f"{key} is still {p.dtype} on {p.device.type} after model.to({device.type!r}).double(): "
                f".to() and .double() only reach registered submodules. {container_hint(model, key)}"
            )
    x = torch.randn(3, IN_DIM, device=device, dtype=torch.float64)
    out = attempt(model, x, "cls", doing="forward in float64", why=MOVED)
    assert_close(out, reference_forward(model, x, "cls"), "forward(x, 'cls') after .double()")


def test_forward_runs_embed_then_each_block_then_the_named_head(kata, device):
    """forward(x, head) equals head(block_n(...block_1(embed(x))))."""
    model = make_network(kata, device, num_blocks=3)
    x = torch.randn(6, IN_DIM, device=device)
    out = attempt(model, x, "cls", doing="forward(x, 'cls')", why=MOVED)
    assert_close(out, reference_forward(model, x, "cls"), "forward(x, 'cls')",
                 why="forward runs embed, then every block in order, then the named head.")


def test_each_head_name_selects_its_own_head(kata, device):
    """forward(x, 'reg') uses the 'reg' head: its own output size and values."""
    model = make_network(kata, device)
    x = torch.randn(6, IN_DIM, device=device)
    out = attempt(model, x, "reg", doing="forward(x, 'reg')", why=MOVED)
    assert_close(out, reference_forward(model, x, "reg"), "forward(x, 'reg')",
                 why="The head argument selects which head runs: model.heads['reg'] maps dim -> 1.")


def test_zero_blocks_give_the_head_of_the_embedding(kata, device):
    """With num_blocks=0 there are no block keys and forward(x, head) is head(embed(x))."""
    model = make_network(kata, device, num_blocks=0)
    state = attempt(model.state_dict, doing="state_dict() of a network built with num_blocks=0")
    extra = [key for key in state if not key.startswith(("embed.", "heads."))]
    if extra:
        fail(f"with num_blocks=0 there are no block parameters, yet its state_dict has {extra[:3]}.")
    x = torch.randn(6, IN_DIM, device=device)
    why = "With num_blocks=0 there is nothing between embed and the head: forward is head(embed(x))."
    out = attempt(model, x, "cls", doing="forward(x, 'cls') of a network built with num_blocks=0", why=why)
    assert_close(out, reference_forward(model, x, "cls"), "forward(x, 'cls') with num_blocks=0", why=why)


def test_unknown_head_raises_key_error_listing_the_available_heads(kata, device):
    """forward(x, 'nope') raises KeyError and its message names every available head."""
    model = make_network(kata, device)
    x = torch.randn(2, IN_DIM, device=device)
    try:
        model(x, "nope")
    except NotImplementedError:
        raise
    except KeyError as exc:
        text = str(exc)
        absent = [name for name in HEADS if name not in text]
        if absent:
            fail(
                f"the KeyError for an unknown head should list the available heads {sorted(HEADS)}; its "
                f"message is {text!r}. Raise KeyError yourself, naming the heads that exist."
            )
    except Exception as exc:  # noqa: BLE001 - any other error is the wrong signal for a missing name
        fail(f"forward(x, 'nope') raised {type(exc).__name__}: {exc}; an unknown head should raise KeyError.")
    else:
        fail("forward(x, 'nope') returned a result: an unknown head must raise KeyError, not fall back.")
