"""Kata 11: init_weights(module) for model.apply.

Every spec is judged outside the learner's process. The judge draws a module-tree DESCRIPTION (nested lists:
Linear / Conv1d / Conv2d with and without bias, their subclasses, BatchNorm1d/2d and LayerNorm with and without
affine parameters, modules that must be left alone: Embedding, Conv3d, GroupNorm, InstanceNorm, Bilinear, a
custom module with parameters named weight and bias, a parent with its own and private Parameters, two Linears
sharing one weight; inside Sequential, ModuleList, ModuleDict and custom parents). A probe builds the tree in the
subject with the helpers below, fills every parameter and buffer with judge-drawn values, seeds torch, runs
model.apply(init_weights) and returns the state_dict. The judge builds its own copy from real torch and decides,
from isinstance on its named_modules(), what every state_dict entry must become: Kaiming normal N(0, 2 / fan_out)
(judged by statistics sized for the tensor), exactly ones, exactly zeros, or exactly what it was. Each probe call
judges a batch of drawn trees, and a failure names the tree it happened on.

The statistics specs use sizes whose fan_in and fan_out differ by a factor of 2 or more, and six standard errors
of tolerance: the std of n normal draws has relative standard error 1 / sqrt(2n).

Contract clauses, and the specs that enforce them:

C1  nn.Linear, nn.Conv1d, nn.Conv2d weights: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
    i.e. N(0, 2 / fan_out) with fan_out = out_features, or out_channels * kernel size; normal, not uniform.
    -> linear_weight_is_kaiming_normal_fan_out_relu, conv1d_weight_is_kaiming_normal_fan_out_relu,
       conv2d_weight_is_kaiming_normal_fan_out_relu, weights_are_normally_distributed
C2  Their biases are exactly zero.   -> linear_and_conv_biases_are_zero
C3  BatchNorm1d, BatchNorm2d, LayerNorm: weight exactly ones, bias exactly zeros.
    -> norm_layers_get_weight_ones_and_bias_zeros
C4  Buffers (running_mean, running_var, num_batches_tracked) are never touched.
    -> running_statistics_are_left_alone
C5  bias=False layers (bias None) and norm layers without affine parameters (weight/bias None) work; what is
    there is initialised.   -> layers_built_with_bias_false_are_initialised_without_error,
       norm_layers_without_affine_parameters_are_handled_without_error
C6  Subclasses of those layers are those layers (isinstance).   -> subclasses_of_the_layers_are_initialised_too
C7  Every other module and Parameter is left exactly as it was (Embedding, Conv3d, GroupNorm, InstanceNorm,
    Bilinear, custom modules, a parent's own Parameters).   -> every_other_module_is_left_untouched
C8  model.apply(init_weights) on any tree (nested containers, private names, shared weights) gives each entry
    of the state_dict what its owner's type prescribes.   -> apply_initialises_every_layer_of_a_generated_tree
C9  In place: the Parameters held before stay the model's (an optimizer holding them keeps training it), in
    their dtype (float16, bfloat16, float32, float64) and on their device; shared weights stay shared.
    -> parameters_are_initialised_in_place
C10 Grad mode is left as the caller set it, under torch.no_grad() or not.   -> grad_mode_is_left_alone
C11 The values come from torch's global generator: torch.manual_seed(s) reproduces them, another seed does not.
    -> same_seed_gives_the_same_weights, different_seeds_give_different_weights
"""

import math
from types import SimpleNamespace

import torch
from torch import nn

from kata_runner.asserts import assert_close, fail
from kata_runner.batching import batch_doing, cases_of, each_case, judged
from kata_runner.draw import examples, given, st
from kata_runner.probing import probe, snapshot

KAIMING = "Linear, Conv1d and Conv2d weights get nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')."
IDENTITY = "Norm layers start as the identity scale with no shift: weight exactly ones, bias exactly zeros."
ZERO_BIAS = "Linear and Conv biases start at exactly zero (nn.init.zeros_)."
NO_BIAS = "Layers built with bias=False have bias None: initialise the bias only when `module.bias is not None`."
NO_AFFINE = (
    "Norm layers built with affine=False (elementwise_affine=False) have weight and bias None, and "
    "LayerNorm(bias=False) has bias None: skip what is None."
)
UNTOUCHED = (
    "Only Linear, Conv1d, Conv2d, BatchNorm1d/2d and LayerNorm are initialised; every other module and custom "
    "Parameter must be left untouched. Dispatch on the layer type with isinstance, not on hasattr(m, 'weight')."
)
IN_PLACE = (
    "Initialise in place (the nn.init.*_ functions): the registered Parameter, with its device and dtype, must stay "
    "the same object, or an optimizer already holding it keeps training the old one."
)
SEEDED = "Draw from torch's global random generator (nn.init does), so that torch.manual_seed controls the weights."
APPLY_WHY = "Write into a Parameter in place under torch.no_grad() (the nn.init functions do), and skip what is None."
BUFFERS = ("init_weights initialises parameters only: running statistics (running_mean, running_var, "
           "num_batches_tracked) are buffers and must keep their values. Do not call reset_parameters() or "
           "reset_running_stats().")


# ------------------------------------------------------------------------------------------ trees
# Built by the same code in the subject (for the learner's init_weights) and in the judge (the oracle).


class Custom(nn.Module):
    """A module of one's own whose parameters merely happen to be called weight and bias."""

    def __init__(self, rows, cols):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(rows, cols))
        self.bias = nn.Parameter(torch.randn(rows))


class Parent(nn.Module):
    """A parent with its own (and private) Parameters next to child layers."""

    def __init__(self, children):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(3, 4))
        self.register_parameter("_temperature", nn.Parameter(torch.tensor(0.7)))
        for name, child in children:
            self.add_module(name, child)


class Tied(nn.Module):
    """Two Linear layers sharing one weight Parameter."""

    def __init__(self, n, bias):
        super().__init__()
        self.first = nn.Linear(n, n, bias=bias)
        self.second = nn.Linear(n, n, bias=bias)
        self.second.weight = self.first.weight


class SubLinear(nn.Linear):
    pass


class SubConv1d(nn.Conv1d):
    pass


class SubConv2d(nn.Conv2d):
    pass


class SubBatchNorm1d(nn.BatchNorm1d):
    pass


class SubLayerNorm(nn.LayerNorm):
    pass


LEAVES = {
    "linear": lambda i, o, b: nn.Linear(i, o, bias=b),
    "conv1d": lambda i, o, k, b: nn.Conv1d(i, o, k, bias=b),
    "conv2d": lambda i, o, kh, kw, b: nn.Conv2d(i, o, (kh, kw), bias=b),
    "bn1d": lambda n, affine: nn.BatchNorm1d(n, affine=affine),
    "bn2d": lambda n, affine: nn.BatchNorm2d(n, affine=affine),
    "layernorm": lambda shape, affine, b: nn.LayerNorm(shape, elementwise_affine=affine, bias=b),
    "sublinear": lambda i, o, b: SubLinear(i, o, bias=b),
    "subconv1d": lambda i, o, k, b: SubConv1d(i, o, k, bias=b),
    "subconv2d": lambda i, o, kh, kw, b: SubConv2d(i, o, (kh, kw), bias=b),
    "subbn1d": lambda n: SubBatchNorm1d(n),
    "sublayernorm": lambda n: SubLayerNorm(n),
    "embedding": lambda n, d: nn.Embedding(n, d),
    "conv3d": lambda i, o, k: nn.Conv3d(i, o, k),
    "groupnorm": lambda g, c: nn.GroupNorm(g, c),
    "instancenorm": lambda n: nn.InstanceNorm1d(n, affine=True),
    "bilinear": lambda a, b, c: nn.Bilinear(a, b, c),
    "custom": lambda r, c: Custom(r, c),
    "tied": lambda n, b: Tied(n, b),
    "relu": lambda: nn.ReLU(),
}


def build(node):
    kind, *args = node
    if kind == "sequential":
        return nn.Sequential(*[build(child) for child in args[0]])
    if kind == "modulelist":
        return nn.ModuleList([build(child) for child in args[0]])
    if kind == "moduledict":
        return nn.ModuleDict({name: build(child) for name, child in args[0]})
    if kind == "parent":
        return Parent([(name, build(child)) for name, child in args[0]])
    return LEAVES[kind](*[tuple(a) if isinstance(a, list) else a for a in args])


def describe_node(node):
    kind, *args = node
    if kind in ("sequential", "modulelist"):
        return f"{kind}[{', '.join(describe_node(c) for c in args[0])}]"
    if kind in ("moduledict", "parent"):
        return f"{kind}{{{', '.join(f'{n}: {describe_node(c)}' for n, c in args[0])}}}"
    return f"{kind}({', '.join(map(str, args))})"


# ------------------------------------------------------------------------------------------ probes


def _seed(seed, device):
    """torch.manual_seed(seed), without its lazy CUDA seeding (a recorded stack trace per call) where the model
    lives on the CPU."""
    if torch.device(device).type == "cpu":
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)


def _init_tree(impl, tree, values, seed, dtype, device, no_grad):
    model = build(tree).to(device=device)
    if dtype is not None:
        model = model.to(dtype)
    model.load_state_dict(values)
    held = list(model.parameters())
    _seed(seed, device)
    before = torch.is_grad_enabled()
    if no_grad:
        with torch.no_grad():
            model.apply(impl.init_weights)
            inside = torch.is_grad_enabled()
    else:
        model.apply(impl.init_weights)
        inside = torch.is_grad_enabled()
    state = snapshot(model.state_dict())
    grad_mode = [before, inside, torch.is_grad_enabled()]
    with torch.no_grad():
        for p in held:
            p.add_(1.0)
    return {"state": state, "after_update": snapshot(model.state_dict()), "grad_mode": grad_mode}


@probe
def init_trees(impl, cases):
    """Per (tree, values, seed, dtype, device, no_grad): the tree built and filled with the values, then
    torch.manual_seed(seed) and model.apply(init_weights); its state_dict, and the state_dict after a step
    taken on the Parameters held before."""
    return each_case(impl, cases, _init_tree)


def _seeded(impl, tree, seeds):
    states = []
    for seed in seeds:
        model = build(tree)
        _seed(seed, "cpu")
        model.apply(impl.init_weights)
        states.append(snapshot(model.state_dict()))
    return states


@probe
def seeded(impl, cases):
    """Per (tree, seeds): the state_dict of the tree after torch.manual_seed(seed), model.apply(init_weights)."""
    return each_case(impl, cases, _seeded)


# ------------------------------------------------------------------------------------------ the oracle

KAIMING_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)


def fans(weight):
    receptive = math.prod(weight.shape[2:])
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def rules_for(tree):
    """What each state_dict entry of the tree must become, decided with isinstance on named_modules()."""
    model = build(tree)
    rule, owner = {}, {}
    for module in model.modules():
        if isinstance(module, KAIMING_LAYERS):
            rule[id(module.weight)] = ("kaiming", *fans(module.weight))
            if module.bias is not None:
                rule[id(module.bias)] = ("zeros",)
        elif isinstance(module, NORM_LAYERS):
            if module.weight is not None:
                rule[id(module.weight)] = ("ones",)
            if module.bias is not None:
                rule[id(module.bias)] = ("zeros",)
        for p in module.parameters(recurse=False):
            owner.setdefault(id(p), type(module).__name__)
    state = model.state_dict(keep_vars=True)
    return ({key: rule.get(id(t), ("same",)) for key, t in state.items()},
            {key: owner.get(id(t), "buffer") for key, t in state.items()}, model)


def values_for(model, seed):
    """Recognisable judge-drawn values for every state_dict entry (shared tensors get one value)."""
    generator = torch.Generator().manual_seed(seed)
    by_id, values = {}, {}
    for key, t in model.state_dict(keep_vars=True).items():
        if id(t) not in by_id:
            if t.dtype == torch.long:
                by_id[id(t)] = torch.randint(3, 50, t.shape, generator=generator)
            else:
                by_id[id(t)] = (torch.rand(t.shape, generator=generator) + 2.0).to(t.dtype)
        values[key] = by_id[id(t)].clone()
    return values


def tree_case(tree, seed, dtype=None, device="cpu", no_grad=False, why=APPLY_WHY, doing=None, **extra):
    """One tree to initialise: the judge's rules for its entries, its owners and the values it is filled with."""
    rules, owners, model = rules_for(tree)
    values = values_for(model.to(dtype) if dtype is not None else model, seed)
    return SimpleNamespace(tree=tree, seed=seed, dtype=dtype, device=device, no_grad=no_grad, why=why,
                           doing=doing or f"model.apply(init_weights) on {describe_node(tree)}", rules=rules,
                           owners=owners, values=values, **extra)


def run_trees(kata, cases):
    """init_trees on every case; pairs of (case, what the probe saw)."""
    inputs = [(c.tree, c.values, c.seed, c.dtype, c.device, c.no_grad) for c in cases]
    seen = kata.run(init_trees, inputs, doing=batch_doing([c.doing for c in cases]), why=cases[0].why)
    return judged(cases, seen, lambda c: c.doing, lambda c: c.why)


def _std_candidates(fan_in, fan_out):
    return [
        (math.sqrt(2 / fan_in), f"is sqrt(2 / fan_in) with fan_in = {fan_in}: pass mode='fan_out' "
                                "(kaiming_normal_'s default is mode='fan_in')."),
        (math.sqrt(1 / fan_out), "is 1 / sqrt(fan_out), without the ReLU gain sqrt(2): pass nonlinearity='relu'."),
        (5 / 3 / math.sqrt(fan_out), "is the tanh gain 5/3 over sqrt(fan_out): pass nonlinearity='relu'."),
        (math.sqrt(2 / (fan_in + fan_out)), "is Xavier (Glorot) normal's sqrt(2 / (fan_in + fan_out)): use "
                                            "kaiming_normal_, not xavier_normal_."),
        (1 / math.sqrt(3 * fan_in), "is the layer's default initialisation (kaiming_uniform_ with a=sqrt(5)): the "
                                    "weight was not re-initialised."),
        (1 / math.sqrt(3 * fan_out), "is kaiming_uniform_ with a=sqrt(5) over fan_out: use the ReLU gain."),
    ]


def check_kaiming(weight, fan_in, fan_out, what, shape_words=""):
    """Sample mean ~ 0 and sample std ~ sqrt(2 / fan_out), within six standard errors."""
    w = weight.detach().to(device="cpu", dtype=torch.float64).reshape(-1)
    n = w.numel()
    if not bool(torch.isfinite(w).all()):
        fail(f"{what} holds nan or inf after init_weights. {KAIMING}")
    expected = math.sqrt(2 / fan_out)
    std, mean = float(w.std()), float(w.mean())
    tolerance = 6 / math.sqrt(2 * n)
    if abs(std / expected - 1) > tolerance:
        matches = [words for candidate, words in _std_candidates(fan_in, fan_out)
                   if abs(candidate / expected - 1) > 2 * tolerance and abs(std / candidate - 1) <= tolerance]
        diagnosis = f" {std:.4g} {' Or it '.join(matches)}" if matches else ""
        fail(f"{what} has std {std:.4g}, but Kaiming normal with mode='fan_out' and the ReLU gain gives "
             f"sqrt(2 / fan_out) = {expected:.4g}, with fan_out = {shape_words or 'out_features'} = {fan_out} "
             f"(fan_in = {fan_in}) for a weight of shape {tuple(weight.shape)} (tolerance {tolerance:.1%})."
             f"{diagnosis}")
    if abs(mean) > 6 * expected / math.sqrt(n):
        fail(f"{what} has mean {mean:.4g}; Kaiming normal draws from N(0, 2 / fan_out), centred on zero. {KAIMING}")


def check_tree(seen, rules, owners, values, tree, stats=False):
    """Every state_dict entry became what its owner's type prescribes."""
    state = seen["state"]
    if sorted(state) != sorted(rules):
        fail(f"after init_weights the state_dict keys of {describe_node(tree)} changed: {sorted(state)}. {IN_PLACE}")
    assert rules, "every generated tree has state"
    for key, rule in rules.items():
        got, before = state[key], values[key]
        what = f"{key} (of a {owners[key]}) in {describe_node(tree)}"
        if rule[0] == "same":
            if not torch.equal(got, before):
                if owners[key] == "buffer":
                    fail(f"init_weights changed {what}. {BUFFERS}")
                fail(f"init_weights changed {what}. {UNTOUCHED}")
        elif rule[0] in ("ones", "zeros"):
            if torch.equal(got, before):
                if rule[0] == "zeros" and ("Linear" in owners[key] or "Conv" in owners[key]):
                    fail(f"init_weights left {what} untouched: its bias must be zeroed. {ZERO_BIAS}")
                fail(f"init_weights left {what} untouched: norm layers must be initialised. {IDENTITY}")
            expected = torch.ones_like(before) if rule[0] == "ones" else torch.zeros_like(before)
            why = IDENTITY if rule[0] == "ones" or "Norm" in owners[key] else ZERO_BIAS
            assert_close(got, expected, what, why=why, rtol=0, atol=0)
        else:
            if torch.equal(got, before):
                if "Conv" in owners[key]:
                    fail(f"init_weights left {what} untouched: Conv layers (nn.Conv1d, nn.Conv2d) need Kaiming init "
                         f"too, not only nn.Linear. {KAIMING}")
                fail(f"init_weights left {what} untouched: it must be initialised. {KAIMING}")
            if stats:
                check_kaiming(got, rule[1], rule[2], what)


# ------------------------------------------------------------------------------------------ inputs


@st.composite
def fan_pairs(draw, low=16):
    """(small, large) channel counts a factor 3 to 8 apart, in either order: fan_in != fan_out. (A factor of 2
    would make sqrt(2 / fan_in) equal 1 / sqrt(fan_out), and the two mistakes indistinguishable.)"""
    small = draw(st.integers(low, 96))
    large = small * draw(st.sampled_from([3, 4, 8]))
    return (small, large) if draw(st.booleans()) else (large, small)


def kernel_to_fill(i, o, minimum=4096):
    return max(1, math.ceil(minimum / (i * o)))


LEAF_DRAW = {
    "linear": lambda d: ["linear", d(st.integers(1, 9)), d(st.integers(1, 9)), d(st.booleans())],
    "sublinear": lambda d: ["sublinear", d(st.integers(1, 9)), d(st.integers(1, 9)), d(st.booleans())],
    "conv1d": lambda d: ["conv1d", d(st.integers(1, 4)), d(st.integers(1, 4)), d(st.integers(1, 3)), d(st.booleans())],
    "conv2d": lambda d: ["conv2d", d(st.integers(1, 4)), d(st.integers(1, 4)), d(st.integers(1, 3)),
                         d(st.integers(1, 3)), d(st.booleans())],
    "subconv2d": lambda d: ["subconv2d", d(st.integers(1, 3)), d(st.integers(1, 3)), 2, 1, d(st.booleans())],
    "bn1d": lambda d: ["bn1d", d(st.integers(1, 6)), d(st.booleans())],
    "bn2d": lambda d: ["bn2d", d(st.integers(1, 6)), d(st.booleans())],
    "layernorm": lambda d: ["layernorm", d(st.sampled_from([3, [2, 3], [4]])), d(st.booleans()), d(st.booleans())],
    "subbn1d": lambda d: ["subbn1d", d(st.integers(1, 6))],
    "sublayernorm": lambda d: ["sublayernorm", d(st.integers(1, 6))],
    "embedding": lambda d: ["embedding", d(st.integers(2, 9)), d(st.integers(1, 5))],
    "conv3d": lambda d: ["conv3d", d(st.integers(1, 3)), d(st.integers(1, 3)), 2],
    "groupnorm": lambda d: ["groupnorm", 2, 4],
    "instancenorm": lambda d: ["instancenorm", d(st.integers(1, 5))],
    "bilinear": lambda d: ["bilinear", d(st.integers(1, 3)), d(st.integers(1, 3)), d(st.integers(1, 3))],
    "custom": lambda d: ["custom", d(st.integers(1, 5)), d(st.integers(1, 5))],
    "tied": lambda d: ["tied", d(st.integers(1, 5)), d(st.booleans())],
    "relu": lambda d: ["relu"],
}
CHILD_NAMES = ("fc", "_private", "head", "0", "norm", "stem")


@st.composite
def leaves(draw, kinds=tuple(LEAF_DRAW)):
    return LEAF_DRAW[draw(st.sampled_from(kinds))](draw)


@st.composite
def trees(draw, kinds=tuple(LEAF_DRAW), depth=2):
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(leaves(kinds))
    container = draw(st.sampled_from(["sequential", "modulelist", "moduledict", "parent"]))
    count = draw(st.integers(1, 3))
    children = [draw(trees(kinds, depth - 1)) for _ in range(count)]
    if container in ("sequential", "modulelist"):
        return [container, children]
    names = draw(st.lists(st.sampled_from(CHILD_NAMES), min_size=count, max_size=count, unique=True))
    return [container, [[name, child] for name, child in zip(names, children)]]


@st.composite
def trees_with(draw, required, kinds=tuple(LEAF_DRAW)):
    """A tree that certainly contains leaves of the `required` kinds, among drawn others."""
    must = [LEAF_DRAW[kind](draw) for kind in required]
    others = [draw(trees(kinds, depth=1)) for _ in range(draw(st.integers(0, 2)))]
    children = must + others
    order = draw(st.permutations(range(len(children))))
    wrap = draw(st.sampled_from(["sequential", "modulelist", "parent"]))
    ordered = [children[i] for i in order]
    if wrap == "parent":
        return ["parent", [[f"m{i}", child] for i, child in enumerate(ordered)]]
    return [wrap, ordered]


# ------------------------------------------------------------------------------------------ specs: statistics

SEEDS = st.integers(0, 2**16)


def check_single(kata, cases):
    """Single layers (case.tree, whose weight is the `weight` entry): the weight is Kaiming normal (fan_out)."""
    for case, seen in run_trees(kata, cases):
        if torch.equal(seen["state"]["weight"], case.values["weight"]):
            check_tree(seen, case.rules, case.owners, case.values, case.tree)
        _, fan_in, fan_out = case.rules["weight"]
        check_kaiming(seen["state"]["weight"], fan_in, fan_out, f"the weight of {describe_node(case.tree)}",
                      case.shape_words)


@given(drawn=cases_of(st.tuples(fan_pairs(low=48), st.sampled_from([torch.float32, torch.float64]), SEEDS), 4))
@examples(2)
def test_linear_weight_is_kaiming_normal_fan_out_relu(kata, device, drawn):
    """An nn.Linear weight gets mean 0 and std sqrt(2 / fan_out), fan_out = out_features."""
    check_single(kata, [tree_case(["linear", i, o, True], seed, dtype, shape_words="out_features")
                        for (i, o), dtype, seed in drawn])


@given(drawn=cases_of(st.tuples(fan_pairs(), SEEDS), 3))
@examples(2)
def test_conv1d_weight_is_kaiming_normal_fan_out_relu(kata, device, drawn):
    """An nn.Conv1d weight gets mean 0 and std sqrt(2 / fan_out), fan_out = out_channels * kernel_size."""
    cases = []
    for pair, seed in drawn:
        i, o = (max(1, pair[0] // 8), max(1, pair[1] // 8))
        cases.append(tree_case(["conv1d", i, o, kernel_to_fill(i, o), True], seed, torch.float32,
                               shape_words="out_channels * kernel_size"))
    check_single(kata, cases)


@given(drawn=cases_of(st.tuples(fan_pairs(), st.integers(1, 3), SEEDS), 3))
@examples(2)
def test_conv2d_weight_is_kaiming_normal_fan_out_relu(kata, device, drawn):
    """An nn.Conv2d weight gets mean 0 and std sqrt(2 / fan_out), fan_out = out_channels * kh * kw."""
    cases = []
    for pair, kw, seed in drawn:
        i, o = (max(1, pair[0] // 8), max(1, pair[1] // 8))
        kh = max(1, math.ceil(kernel_to_fill(i, o) / kw))
        cases.append(tree_case(["conv2d", i, o, kh, kw, False], seed, torch.float32,
                               shape_words="out_channels * kh * kw"))
    check_single(kata, cases)


@given(seeds=cases_of(SEEDS, 2))
@examples(2)
def test_weights_are_normally_distributed(kata, device, seeds):
    """The weights follow a normal distribution: about 4.55% of them lie beyond two standard deviations."""
    for _, seen in run_trees(kata, [tree_case(["linear", 128, 256, True], seed) for seed in seeds]):
        w = seen["state"]["weight"].double().reshape(-1)
        beyond = float(((w - w.mean()).abs() > 2 * w.std()).double().mean())
        n = w.numel()
        slack = 6 * math.sqrt(0.0455 * 0.9545 / n)
        if abs(beyond - 0.0455) > slack:
            fail(f"{beyond:.2%} of Linear(128, 256).weight lies beyond two standard deviations of its mean, where a "
                 "normal distribution puts 4.55%: the weights are not normally distributed. Use kaiming_normal_, "
                 "not kaiming_uniform_ or a truncated normal.")


# ------------------------------------------------------------------------------------------ specs: what each gets


def check_trees(kata, cases):
    for case, seen in run_trees(kata, cases):
        check_tree(seen, case.rules, case.owners, case.values, case.tree)


@given(drawn=cases_of(st.tuples(trees_with(["linear", "conv1d", "conv2d"],
                                           kinds=("linear", "conv1d", "conv2d", "relu")), SEEDS), 6))
@examples(2)
def test_linear_and_conv_biases_are_zero(kata, device, drawn):
    """The biases of Linear, Conv1d and Conv2d layers become exactly zero, and their weights are redrawn."""
    check_trees(kata, [tree_case(tree, seed) for tree, seed in drawn])


@given(drawn=cases_of(st.tuples(trees_with(["bn1d", "bn2d", "layernorm"], kinds=("bn1d", "bn2d", "layernorm", "relu")),
                                SEEDS), 6))
@examples(2)
def test_norm_layers_get_weight_ones_and_bias_zeros(kata, device, drawn):
    """BatchNorm1d, BatchNorm2d and LayerNorm get weight exactly ones and bias exactly zeros."""
    check_trees(kata, [tree_case(tree, seed, why=NO_AFFINE) for tree, seed in drawn])


@given(drawn=cases_of(st.tuples(st.integers(1, 8), SEEDS), 4))
@examples(2)
def test_running_statistics_are_left_alone(kata, device, drawn):
    """BatchNorm's running_mean, running_var and num_batches_tracked buffers keep their values."""
    cases = [tree_case(["sequential", [["bn1d", n, True], ["bn2d", n, True], ["subbn1d", n]]], seed)
             for n, seed in drawn]
    for case, seen in run_trees(kata, cases):
        for key in case.rules:
            if case.owners[key] == "buffer" and not torch.equal(seen["state"][key], case.values[key]):
                fail(f"init_weights changed {key} in {describe_node(case.tree)}. {BUFFERS}")
        check_tree(seen, case.rules, case.owners, case.values, case.tree)


def without_bias(node):
    if node[0] in ("sequential", "modulelist"):
        return [node[0], [without_bias(c) for c in node[1]]]
    if node[0] in ("moduledict", "parent"):
        return [node[0], [[n, without_bias(c)] for n, c in node[1]]]
    return [*node[:-1], False]


@given(drawn=cases_of(st.tuples(trees_with(["linear", "conv1d", "conv2d"], kinds=("linear", "conv1d", "conv2d")),
                                SEEDS), 5))
@examples(2)
def test_layers_built_with_bias_false_are_initialised_without_error(kata, device, drawn):
    """Linear, Conv1d and Conv2d built with bias=False get their weight initialised, and nothing crashes."""
    cases = []
    for tree, seed in drawn:
        tree = without_bias(tree)
        cases.append(tree_case(tree, seed, why=NO_BIAS, doing="model.apply(init_weights) on layers built with "
                                                              f"bias=False: {describe_node(tree)}"))
    check_trees(kata, cases)


@given(drawn=cases_of(st.tuples(st.sampled_from([4, [2, 3]]), st.integers(1, 6), SEEDS), 4))
@examples(2)
def test_norm_layers_without_affine_parameters_are_handled_without_error(kata, device, drawn):
    """Norm layers whose weight or bias is None (affine=False, bias=False) are handled without error."""
    cases = []
    for shape, n, seed in drawn:
        tree = ["sequential", [["bn1d", n, False], ["bn2d", n, False], ["layernorm", shape, False, True],
                               ["layernorm", shape, True, False]]]
        cases.append(tree_case(tree, seed, why=NO_AFFINE, doing="model.apply(init_weights) on norm layers without "
                                                                f"affine parameters: {describe_node(tree)}"))
    check_trees(kata, cases)


@given(drawn=cases_of(st.tuples(trees_with(["sublinear", "subconv2d", "sublayernorm"]), SEEDS), 5))
@examples(2)
def test_subclasses_of_the_layers_are_initialised_too(kata, device, drawn):
    """A subclass of nn.Linear, nn.Conv2d or nn.LayerNorm is that layer: isinstance, not type(m) is ..."""
    for case, seen in run_trees(kata, [tree_case(tree, seed) for tree, seed in drawn]):
        for key, rule in case.rules.items():
            owner = case.owners[key]
            if rule[0] != "same" and owner.startswith("Sub") and torch.equal(seen["state"][key], case.values[key]):
                fail(f"init_weights left {key} of a {owner} in {describe_node(case.tree)} untouched: a subclass of a "
                     "built-in layer is that layer (nn.MultiheadAttention's out_proj is a subclass of nn.Linear). "
                     "Dispatch with isinstance, not on type(module).")
        check_tree(seen, case.rules, case.owners, case.values, case.tree)


@given(drawn=cases_of(st.tuples(trees_with(["embedding", "custom"], kinds=("embedding", "conv3d", "groupnorm",
                                                                            "instancenorm", "bilinear", "custom",
                                                                            "relu")),
                                SEEDS), 6))
@examples(2)
def test_every_other_module_is_left_untouched(kata, device, drawn):
    """Embedding, Conv3d, GroupNorm, InstanceNorm, Bilinear and custom modules keep every value."""
    check_trees(kata, [tree_case(tree, seed) for tree, seed in drawn])


def has_state(tree):
    return len(build(tree).state_dict()) > 0


@given(drawn=cases_of(st.tuples(trees().filter(has_state), SEEDS), 8))
@examples(2)
def test_apply_initialises_every_layer_of_a_generated_tree(kata, device, drawn):
    """In any tree (nested containers, private names, shared weights) each entry gets what its layer type says."""
    check_trees(kata, [tree_case(tree, seed) for tree, seed in drawn])


# ------------------------------------------------------------------------------------------ specs: how


@given(drawn=cases_of(st.tuples(trees_with(["linear", "conv2d", "layernorm", "tied"],
                                           kinds=("linear", "bn1d", "custom", "tied")),
                                st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
                                SEEDS), 6))
@examples(2)
def test_parameters_are_initialised_in_place(kata, device, drawn):
    """The Parameters held before init stay the model's, in their dtype and on their device; tied stay tied."""
    for case, seen in run_trees(kata, [tree_case(tree, seed, dtype, device) for tree, dtype, seed in drawn]):
        state, after, values, where = seen["state"], seen["after_update"], case.values, describe_node(case.tree)
        for key, value in state.items():
            if value.dtype != values[key].dtype or value.device.type != device.type:
                fail(f"after init_weights, {key} of {where} is {value.dtype} on {value.device.type}; it was "
                     f"{values[key].dtype} on {device.type}. {IN_PLACE}")
        for key in case.rules:
            if case.owners[key] == "buffer":
                continue
            expected = (state[key].double() + 1.0).to(state[key].dtype)
            if not torch.equal(after[key], expected):
                fail(f"a step on the Parameters held before model.apply(init_weights) no longer reaches {key} of "
                     f"{where}: init_weights replaced it with a new tensor. {IN_PLACE}")
        for key in case.rules:
            if key.endswith("second.weight"):
                first = key[: -len("second.weight")] + "first.weight"
                if not torch.equal(state[key], state[first]):
                    fail(f"{first} and {key} of {where} were one shared Parameter, but differ after init_weights. "
                         f"{IN_PLACE}")


@given(drawn=cases_of(st.tuples(trees_with(["linear", "bn1d"]), st.booleans(), SEEDS), 4))
@examples(2)
def test_grad_mode_is_left_alone(kata, device, drawn):
    """init_weights leaves torch.is_grad_enabled() as the caller set it, inside and after model.apply."""
    for case, seen in run_trees(kata, [tree_case(tree, seed, no_grad=no_grad) for tree, no_grad, seed in drawn]):
        before, inside, after = seen["grad_mode"]
        if inside != (not case.no_grad) or after != before:
            fail(f"init_weights switched grad mode {'on' if inside else 'off'} "
                 f"{'under torch.no_grad()' if case.no_grad else 'with gradients enabled'} on "
                 f"{describe_node(case.tree)}: use `with torch.no_grad():` (or the nn.init functions), which restores "
                 "the caller's mode.")


SEED_TREE = ["sequential", [["linear", 32, 16, True], ["conv2d", 3, 8, 3, 3, True], ["layernorm", 4, True, True]]]


def run_seeded(kata, seed_pairs):
    """The seed tree initialised under each pair of seeds; pairs of ((first seed, second seed), their states)."""
    seen = kata.run(seeded, [(SEED_TREE, list(pair)) for pair in seed_pairs], doing="model.apply(init_weights)",
                    why=APPLY_WHY)
    return judged(seed_pairs, seen, lambda pair: f"model.apply(init_weights) under torch.manual_seed({pair[0]})",
                  lambda pair: APPLY_WHY)


@given(seeds=cases_of(SEEDS, 2))
@examples(2)
def test_same_seed_gives_the_same_weights(kata, device, seeds):
    """torch.manual_seed(s) followed by model.apply(init_weights) gives the same weights every time."""
    for (seed, _), states in run_seeded(kata, [(seed, seed) for seed in seeds]):
        first, second = states
        assert first, "the seed tree has state"
        for name, value in first.items():
            assert_close(second[name], value, f"{name} initialised twice under torch.manual_seed({seed})", rtol=0,
                         atol=0, why=f"The initialisation is not reproducible. {SEEDED}")


@given(seeds=cases_of(SEEDS, 2))
@examples(2)
def test_different_seeds_give_different_weights(kata, device, seeds):
    """Under two different seeds the Kaiming-initialised weights differ: the global generator is used."""
    for (seed, other), (first, second) in run_seeded(kata, [(seed, seed + 1) for seed in seeds]):
        for name in ("0.weight", "1.weight"):
            if torch.equal(first[name], second[name]):
                fail(f"{name} is identical under torch.manual_seed({seed}) and torch.manual_seed({other}). {SEEDED}")
