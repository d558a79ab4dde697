"""Kata 04: freeze/unfreeze by name prefix, optimizer parameter groups, parameter counts.

Each spec checks one behaviour. Most optimizer specs apply torch.optim's rules and SGD's update
through the small `optimizer_rules` and `sgd_step` below, which name the broken rule in their
messages; one spec hands the groups to the real torch.optim.SGD and Adam. Building the first
optimizer in a process imports torch._dynamo (over a second), so it is imported here, at collection:
the grader collects once and forks its children from there, so they do not pay for it again.
"""

import torch
import torch._dynamo  # noqa: F401 - see the module docstring
from torch import nn

from kata_runner.asserts import assert_close, attempt, fail

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

#: Every parameter name of Net and its numel.
NET_SIZES = {
    "layer1.weight": 16, "layer1.bias": 4,
    "layer10.weight": 16, "layer10.bias": 4,
    "encoder.0.weight": 16, "encoder.0.bias": 4,
    "encoder.2.weight": 16, "encoder.2.bias": 4,
    "head.weight": 8, "head.bias": 2,
}  # fmt: skip
NET_TOTAL = sum(NET_SIZES.values())


class Net(nn.Module):
    """layer1 next to layer10 (the classic prefix trap), a nested encoder and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Linear(4, 4)
        self.layer10 = nn.Linear(4, 4)
        self.encoder = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(torch.tanh(self.layer10(torch.tanh(self.layer1(x))))))


class TiedNet(nn.Module):
    """A language-model-style decoder that reuses the embedding matrix (weight tying)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.body = nn.Linear(4, 4)
        self.decoder = nn.Linear(4, 10)
        self.decoder.weight = self.embed.weight  # one Parameter, two module attributes

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.tanh(self.body(self.embed(tokens))))


def trainable(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def frozen(model):
    return {name for name, p in model.named_parameters() if not p.requires_grad}


def call(kata, fn_name, model, *args, **kwargs):
    shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    doing = f"{fn_name}(model{', ' if shown else ''}{shown})"
    return attempt(getattr(kata, fn_name), model, *args, doing=doing, **kwargs)


def expect_value_error(kata, fn_name, model, prefixes, missing):
    try:
        getattr(kata, fn_name)(model, prefixes)
    except NotImplementedError:
        raise
    except ValueError as exc:
        if missing not in str(exc):
            fail(
                f"{fn_name}(model, {prefixes!r}) raised ValueError({str(exc)!r}), which does not name "
                f"the prefix {missing!r} that matches nothing."
            )
    except Exception as exc:  # noqa: BLE001 - the learner's exception becomes the verdict
        fail(
            f"{fn_name}(model, {prefixes!r}) raised {type(exc).__name__}: {exc}; expected ValueError "
            f"naming the unmatched prefix {missing!r}."
        )
    else:
        fail(
            f"{fn_name}(model, {prefixes!r}) did not raise: the prefix {missing!r} matches no parameter name. "
            "An unmatched prefix is almost always a typo; raise ValueError naming it instead of doing nothing."
        )


def freeze_exactly(kata, model, prefixes, expected):
    """freeze(model, prefixes) as the setup of a later spec; it must freeze exactly `expected`."""
    call(kata, "freeze", model, prefixes)
    if frozen(model) != set(expected):
        fail(
            f"freeze(model, {prefixes!r}) froze {sorted(frozen(model))}, expected {sorted(expected)}: requires_grad "
            f"must be False exactly under the prefixes. {DOTTED}"
        )


def groups_of(kata, model, lr_by_prefix, default_lr):
    """Call param_groups and check its shape; return [(names, params, lr), ...]."""
    doing = f"param_groups(model, {lr_by_prefix!r}, {default_lr!r})"
    groups = attempt(kata.param_groups, model, lr_by_prefix, default_lr, doing=doing)
    if not isinstance(groups, list | tuple):
        fail(f"{doing} returned a {type(groups).__name__}: {SHAPE}.")
    result = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or not {"params", "lr", "names"} <= set(group):
            got = sorted(group) if isinstance(group, dict) else type(group).__name__
            fail(f"group {i} is {got}: {SHAPE}.")
        if isinstance(group["params"], set):
            fail(f"group {i} keeps its params in a set: torch.optim needs an ordered collection (a list). {SHAPE}.")
        params, names = list(group["params"]), list(group["names"])
        if len(params) != len(names):
            fail(f"group {i} has {len(params)} params but {len(names)} names: names[j] must be the name of params[j].")
        result.append((names, params, group["lr"]))
    return result


def optimizer_rules(groups):
    """The checks torch.optim's Optimizer.add_param_group applies to every group."""
    if not groups:
        fail("param_groups returned no group: torch.optim raises 'optimizer got an empty parameter list'.")
    seen = set()
    for names, params, lr in groups:
        if isinstance(lr, bool) or not isinstance(lr, int | float):
            fail(f"a group has lr {lr!r}: each group's 'lr' must be a number, used as that group's learning rate.")
        for name, p in zip(names, params, strict=True):
            if not isinstance(p, nn.Parameter) or not p.is_leaf:
                fail(f"group entry {name!r} is not a leaf nn.Parameter: torch.optim can't optimize a non-leaf Tensor.")
            if id(p) in seen:
                fail(f"parameter {name!r} is in more than one group. {ONE_GROUP}")
            seen.add(id(p))


def sgd_step(groups):
    """torch.optim.SGD(groups).step(), no momentum: each parameter it holds whose .grad is set moves by -lr * grad."""
    with torch.no_grad():
        for _, params, lr in groups:
            for p in params:
                if p.grad is not None:
                    p.sub_(lr * p.grad)


def lrs_by_name(groups):
    """name -> list of the lrs of every group it appears in."""
    found: dict[str, list[float]] = {}
    for names, _, lr in groups:
        for name in names:
            found.setdefault(name, []).append(lr)
    return found


def expect_lrs(groups, expected, why):
    found = lrs_by_name(groups)
    for name, lr in expected.items():
        got = found.get(name)
        if got is None:
            fail(f"trainable parameter {name!r} is in no group, so the optimizer would never train it. {why}")
        if len(got) > 1:
            fail(f"parameter {name!r} is in more than one group (lrs {got}). {ONE_GROUP}")
        if got[0] != lr:
            fail(f"parameter {name!r} is in a group with lr {got[0]!r}, expected {lr!r}. {why}")


def lr_for(name, table, default):
    """The lr of the longest prefix in `table` that matches `name` (written out for the expectations)."""
    best = max((p for p in table if name == p or name.startswith(p + ".")), key=len, default=None)
    return default if best is None else table[best]


# --- freeze / unfreeze ------------------------------------------------------------------------


def test_freeze_turns_off_requires_grad_under_a_prefix_only(kata, device):
    """freeze(model, ['encoder']) sets requires_grad=False on encoder.* and leaves the rest trainable."""
    model = Net().to(device)
    call(kata, "freeze", model, ["encoder"])
    expected = {n for n in NET_SIZES if n.startswith("encoder.")}
    if frozen(model) != expected:
        fail(
            f"after freeze(model, ['encoder']) the frozen parameters are {sorted(frozen(model))}, expected "
            f"{sorted(expected)}: freezing sets param.requires_grad = False on exactly the parameters under the prefix."
        )


def test_freeze_returns_the_sorted_names_it_froze(kata, device):
    """freeze returns the sorted list of the parameter names whose requires_grad it switched off."""
    model = Net().to(device)
    names = call(kata, "freeze", model, ["head", "encoder.2"])
    expected = ["encoder.2.bias", "encoder.2.weight", "head.bias", "head.weight"]
    if not isinstance(names, list) or names != expected:
        fail(f"freeze(model, ['head', 'encoder.2']) returned {names!r}, expected the sorted list {expected!r}.")


def test_freeze_does_not_let_layer1_match_layer10(kata, device):
    """A prefix matches whole dotted components: freezing 'layer1' leaves 'layer10.weight' trainable."""
    model = Net().to(device)
    call(kata, "freeze", model, ["layer1"])
    wrong = sorted(frozen(model) - {"layer1.weight", "layer1.bias"})
    if wrong:
        fail(f"freeze(model, ['layer1']) also froze {wrong}. {DOTTED}")
    if frozen(model) != {"layer1.weight", "layer1.bias"}:
        fail(f"freeze(model, ['layer1']) froze {sorted(frozen(model))}, expected ['layer1.bias', 'layer1.weight'].")


def test_freeze_accepts_a_full_parameter_name_as_prefix(kata, device):
    """A prefix equal to a parameter's full name freezes that one parameter."""
    model = Net().to(device)
    call(kata, "freeze", model, ["head.bias"])
    if frozen(model) != {"head.bias"}:
        fail(f"freeze(model, ['head.bias']) froze {sorted(frozen(model))}, expected only ['head.bias']. {DOTTED}")


def test_freeze_raises_value_error_naming_a_prefix_that_matches_nothing(kata, device):
    """freeze(model, ['layer1', 'layr2']) raises ValueError whose message names 'layr2'."""
    expect_value_error(kata, "freeze", Net().to(device), ["layer1", "layr2"], "layr2")


def test_unfreeze_turns_requires_grad_back_on_under_a_prefix_only(kata, device):
    """unfreeze(model, ['encoder.0']) makes encoder.0.* trainable again and leaves the rest frozen."""
    model = Net().to(device)
    model.requires_grad_(False)
    call(kata, "unfreeze", model, ["encoder.0"])
    if trainable(model) != {"encoder.0.weight", "encoder.0.bias"}:
        fail(
            f"after unfreeze(model, ['encoder.0']) on a fully frozen model the trainable parameters are "
            f"{sorted(trainable(model))}, expected ['encoder.0.bias', 'encoder.0.weight']: unfreezing means "
            "requires_grad = True under the prefix only."
        )


def test_unfreeze_returns_the_sorted_names_it_unfroze(kata, device):
    """unfreeze returns the sorted list of the parameter names whose requires_grad it switched on."""
    model = Net().to(device)
    model.requires_grad_(False)
    names = call(kata, "unfreeze", model, ["layer10", "head"])
    expected = ["head.bias", "head.weight", "layer10.bias", "layer10.weight"]
    if not isinstance(names, list) or names != expected:
        fail(f"unfreeze(model, ['layer10', 'head']) returned {names!r}, expected the sorted list {expected!r}.")


def test_unfreeze_does_not_let_layer1_match_layer10(kata, device):
    """unfreeze matches whole dotted components too: unfreezing 'layer1' leaves 'layer10' frozen."""
    model = Net().to(device)
    model.requires_grad_(False)
    call(kata, "unfreeze", model, ["layer1"])
    if trainable(model) != {"layer1.weight", "layer1.bias"}:
        fail(f"unfreeze(model, ['layer1']) made {sorted(trainable(model))} trainable, expected only layer1.*. {DOTTED}")


def test_unfreeze_raises_value_error_naming_a_prefix_that_matches_nothing(kata, device):
    """unfreeze(model, ['head', 'haed']) raises ValueError whose message names 'haed'."""
    expect_value_error(kata, "unfreeze", Net().to(device), ["head", "haed"], "haed")


# --- param_groups ------------------------------------------------------------------------------


def test_param_groups_give_each_prefix_its_learning_rate(kata, device):
    """Parameters under a prefix land in a group with that prefix's lr."""
    model = Net().to(device)
    table = {"encoder": 0.1, "head": 0.01, "layer1": 0.5, "layer10": 0.2}
    groups = groups_of(kata, model, table, 1e-3)
    expected = {n: lr_for(n, table, 1e-3) for n in NET_SIZES}
    expect_lrs(groups, expected, "Each parameter's group lr is the lr of its prefix.")


def test_param_groups_give_unmatched_parameters_the_default_lr(kata, device):
    """Trainable parameters that match no prefix are grouped with default_lr."""
    model = Net().to(device)
    groups = groups_of(kata, model, {"head": 0.01}, 1e-3)
    expected = {n: 0.01 if n.startswith("head.") else 1e-3 for n in NET_SIZES}
    expect_lrs(groups, expected, "Parameters matching no prefix belong in the default group with default_lr.")


def test_param_groups_pick_the_longest_matching_prefix(kata, device):
    """With prefixes 'encoder' and 'encoder.2', encoder.2.* gets the lr of 'encoder.2' (the longest match)."""
    model = Net().to(device)
    groups = groups_of(kata, model, {"encoder": 0.1, "encoder.2": 0.05}, 1e-3)
    expected = {n: 0.05 if n.startswith("encoder.2.") else 0.1 if n.startswith("encoder.") else 1e-3 for n in NET_SIZES}
    expect_lrs(groups, expected, "The longest matching prefix wins.")


def test_param_groups_do_not_let_layer1_match_layer10(kata, device):
    """The prefix 'layer1' does not claim layer10.*: layer10 keeps default_lr."""
    model = Net().to(device)
    groups = groups_of(kata, model, {"layer1": 0.5}, 1e-3)
    if 0.5 in lrs_by_name(groups).get("layer10.weight", []):
        fail(f"'layer10.weight' was given the lr of the prefix 'layer1'. {DOTTED}")
    expect_lrs(groups, {n: 0.5 if n.startswith("layer1.") else 1e-3 for n in NET_SIZES}, DOTTED)


def test_every_trainable_parameter_is_in_exactly_one_group(kata, device):
    """Across all groups each trainable parameter object appears exactly once, even with nested prefixes."""
    model = Net().to(device)
    groups = groups_of(kata, model, {"encoder": 0.1, "encoder.0": 0.2, "encoder.0.bias": 0.3}, 1e-3)
    seen: dict[int, int] = {}
    for _, params, _ in groups:
        for p in params:
            seen[id(p)] = seen.get(id(p), 0) + 1
    for name, p in model.named_parameters():
        count = seen.get(id(p), 0)
        if count > 1:
            fail(f"parameter {name!r} is in more than one group ({count} groups). {ONE_GROUP}")
        if count == 0:
            fail(f"trainable parameter {name!r} is in no group, so the optimizer would never train it.")


def test_group_names_name_the_group_params(kata, device):
    """In every group, names[i] is the model's name for params[i] (the same Parameter object)."""
    model = Net().to(device)
    groups = groups_of(kata, model, {"encoder": 0.1, "head": 0.01}, 1e-3)
    named = dict(model.named_parameters())
    for names, params, _ in groups:
        for name, p in zip(names, params, strict=True):
            if named.get(name) is not p:
                fail(
                    f"a group lists the name {name!r} next to a different tensor: names[i] must be the name of "
                    "params[i], the model's own Parameter object."
                )


def test_frozen_parameters_are_left_out_of_the_groups(kata, device):
    """After freezing layer1 and encoder.0, none of their parameters appears in any group."""
    model = Net().to(device)
    stuck = ["layer1.weight", "layer1.bias", "encoder.0.weight", "encoder.0.bias"]
    freeze_exactly(kata, model, ["layer1", "encoder.0"], stuck)
    groups = groups_of(kata, model, {"encoder": 0.1}, 1e-3)
    frozen_ids = {id(p): name for name, p in model.named_parameters() if not p.requires_grad}
    handed = sorted(frozen_ids[id(p)] for _, params, _ in groups for p in params if id(p) in frozen_ids)
    if handed:
        fail(f"the frozen parameters {handed} are in the groups. {FROZEN_OUT}")
    still = [n for n in NET_SIZES if not n.startswith(("layer1.", "encoder.0."))]
    expect_lrs(groups, {n: lr_for(n, {"encoder": 0.1}, 1e-3) for n in still}, "Each trainable parameter needs a group.")


def test_empty_groups_are_left_out(kata, device):
    """A prefix whose parameters are all frozen, and a default group with nothing left, produce no group."""
    model = Net().to(device)
    freeze_exactly(kata, model, ["layer1"], ["layer1.weight", "layer1.bias"])
    groups = groups_of(kata, model, {"layer1": 0.5, "layer10": 0.2, "encoder": 0.1, "head": 0.01}, 1e-3)
    for _, params, lr in groups:
        if not params:
            fail(
                f"param_groups returned an empty group (lr={lr!r}): leave out empty groups, such as a prefix whose "
                "parameters are all frozen or a default group with no parameter left."
            )
    lrs = sorted(lr for _, _, lr in groups)
    if lrs != [0.01, 0.1, 0.2]:
        fail(
            f"expected exactly the groups with lrs [0.01, 0.1, 0.2] (layer1 is frozen, so its group is dropped); "
            f"got lrs {lrs!r}."
        )


def test_groups_meet_torch_optim_rules_on_a_tied_model(kata, device):
    """With a tied weight the groups pass torch.optim's checks: leaf Parameters, each in one group, an lr each."""
    model = TiedNet().to(device)
    table = {"decoder": 0.1, "embed": 0.2}
    groups = groups_of(kata, model, table, 1e-3)
    optimizer_rules(groups)
    held = sum(len(params) for _, params, _ in groups)
    if held != 4:
        fail(
            f"the groups hold {held} parameters; the tied model has 4 distinct ones (embed.weight is decoder.weight, "
            f"which named_parameters() yields once). {ONE_GROUP}"
        )
    expect_lrs(groups, {n: lr_for(n, table, 1e-3) for n, _ in model.named_parameters()}, "Each prefix has its own lr.")


def test_one_sgd_step_moves_only_unfrozen_parameters_each_with_its_lr(kata, device):
    """After warm-up gradients, freezing and one SGD step, frozen parameters stay put; the rest move by -lr*grad."""
    model = Net().to(device)
    x = torch.randn(8, 4, device=device)
    model(x).pow(2).sum().backward()  # earlier training: every parameter now has a .grad
    stuck = {"layer1.weight", "layer1.bias", "encoder.0.weight", "encoder.0.bias"}
    freeze_exactly(kata, model, ["layer1", "encoder.0"], stuck)
    table = {"encoder": 0.1, "encoder.2": 0.05, "head": 0.01}
    groups = groups_of(kata, model, table, 1e-3)
    optimizer_rules(groups)
    model(x).pow(2).sum().backward()
    named = dict(model.named_parameters())
    before = {n: p.detach().clone() for n, p in named.items()}
    grads = {n: named[n].grad.detach().clone() for n in NET_SIZES if n not in stuck}
    sgd_step(groups)
    for name in sorted(stuck):
        if not torch.equal(named[name].detach(), before[name]):
            fail(f"frozen parameter {name!r} changed in optimizer.step(). {FROZEN_OUT}")
    for name, grad in grads.items():
        lr = lr_for(name, table, 1e-3)
        assert_close(
            named[name].detach(), before[name] - lr * grad, f"{name} after one SGD step",
            why=f"A trainable parameter moves by -lr * grad with its own group's lr ({lr}).",
        )  # fmt: skip


def test_groups_work_as_given_with_torch_optim_sgd(kata, device):
    """The groups go straight into torch.optim.SGD: one step moves each trainable parameter, never a frozen one."""
    step_real_optimizer(kata, device, "SGD")


def test_groups_work_as_given_with_torch_optim_adam(kata, device):
    """The groups go straight into torch.optim.Adam: one step moves each trainable parameter, never a frozen one."""
    step_real_optimizer(kata, device, "Adam")


def step_real_optimizer(kata, device, optimizer):
    model = Net().to(device)
    freeze_exactly(kata, model, ["layer1"], {"layer1.weight", "layer1.bias"})
    table = {"encoder": 0.1, "head": 0.01}
    groups = attempt(kata.param_groups, model, table, 1e-3, doing=f"param_groups(model, {table!r}, 1e-3)")
    opt = attempt(getattr(torch.optim, optimizer), groups, doing=f"torch.optim.{optimizer}(param_groups(...))",
                  why="The list param_groups returns must be usable as an optimizer's param groups as it is.")
    named = dict(model.named_parameters())
    before = {n: p.detach().clone() for n, p in named.items()}
    model(torch.randn(8, 4, device=device)).pow(2).sum().backward()
    opt.step()
    for name, param in named.items():
        moved = not torch.equal(param.detach(), before[name])
        if name.startswith("layer1.") and moved:
            fail(f"frozen parameter {name!r} changed in {optimizer}.step(). {FROZEN_OUT}")
        if not name.startswith("layer1.") and not moved:
            fail(f"trainable parameter {name!r} did not move in {optimizer}.step(): it is in no group. {ONE_GROUP}")
    lrs = {name: group["lr"] for group in opt.param_groups for name in group.get("names", [])}
    expect = {n: lr_for(n, table, 1e-3) for n in named if not n.startswith("layer1.")}
    if lrs != expect:
        fail(f"{optimizer}'s param groups give the learning rates {lrs}, expected {expect}: one lr per prefix.")


# --- count_parameters ---------------------------------------------------------------------------


def test_count_parameters_counts_every_scalar(kata, device):
    """count_parameters(model) is the total numel of all parameters."""
    total = call(kata, "count_parameters", Net().to(device))
    if total != NET_TOTAL:
        fail(f"count_parameters(model) returned {total!r}, expected {NET_TOTAL} (the sum of numel() over parameters).")


def test_count_parameters_trainable_only_skips_frozen_parameters(kata, device):
    """With trainable_only=True only parameters with requires_grad count; without it, all do."""
    model = Net().to(device)
    model.encoder.requires_grad_(False)
    total = call(kata, "count_parameters", model, trainable_only=True)
    expected = sum(v for n, v in NET_SIZES.items() if not n.startswith("encoder."))
    if total != expected:
        fail(
            f"count_parameters(model, trainable_only=True) with the encoder frozen returned {total!r}, expected "
            f"{expected}: frozen parameters (requires_grad False) are not trainable."
        )
    total = call(kata, "count_parameters", model)
    if total != NET_TOTAL:
        fail(
            f"count_parameters(model) with the encoder frozen returned {total!r}, expected {NET_TOTAL}: "
            "without trainable_only, frozen parameters count too."
        )


def test_count_parameters_counts_a_shared_parameter_once(kata, device):
    """A tied weight (decoder.weight is embed.weight) is counted once."""
    total = call(kata, "count_parameters", TiedNet().to(device))
    expected = 10 * 4 + (4 * 4 + 4) + 10  # embedding (= decoder weight), body, decoder bias
    if total != expected:
        fail(
            f"count_parameters(tied model) returned {total!r}, expected {expected}; counting the tied weight twice "
            f"gives {expected + 40}. {SHARED_ONCE}"
        )


def test_count_parameters_ignores_buffers(kata, device):
    """BatchNorm's running statistics are buffers, not parameters, and are not counted."""
    total = call(kata, "count_parameters", nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).to(device))
    expected = (4 * 3 + 3) + (3 + 3)
    if total != expected:
        fail(
            f"count_parameters(Linear + BatchNorm1d) returned {total!r}, expected {expected}: running_mean, "
            "running_var and num_batches_tracked are buffers, not parameters (state_dict() lists both)."
        )
