"""Kata 08: FeatureExtractor, forward hooks that record named layers. Each spec checks one behaviour."""

import copy
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.modules import module as module_globals

from kata_runner.asserts import assert_close, assert_keys, assert_no_history, attempt, fail

OUTPUT = "A feature is the layer's output, the third argument of hook(module, inputs, output), not its input."
RETURN_NONE = (
    "A forward hook that returns a value replaces the layer's output (a detached copy cuts the autograd "
    "graph there): the hook must return None."
)
DETACH = "Store output.detach(): a feature with history keeps the whole autograd graph alive."


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.norm(self.linear(x)))


class Net(nn.Module):
    """Named modules include 'stem', 'layer2.relu' and 'blocks.1.norm'."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(4, 6)
        self.layer2 = Block(6)
        self.blocks = nn.ModuleList([Block(6), Block(6)])
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        x = self.layer2(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        y = self.linear(x)
        return [y, y * 2]


class Split(nn.Module):
    def forward(self, x):
        return tuple(x.chunk(2, dim=-1))


class MultiOutputNet(nn.Module):
    """'pair' returns a list of two tensors, 'split' a tuple of two."""

    def __init__(self):
        super().__init__()
        self.pair = Pair()
        self.split = Split()

    def forward(self, x):
        a, b = self.pair(x)
        c, d = self.split(a + b)
        return c * d


def seq(device):
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)


def extract(kata, model, names):
    return attempt(kata.FeatureExtractor, model, names, doing=f"FeatureExtractor(model, {names})")


def run(model, x, why=""):
    return attempt(model, x, doing="a forward pass of the model with the extractor attached", why=why)


def features_of(fx, what="get_features()"):
    features = attempt(fx.get_features, doing=what)
    if not isinstance(features, Mapping):
        fail(f"{what} should return a dict {{layer name: output}}, got {type(features).__name__}.")
    return features


def hook_count(model):
    """Every module, forward and backward hook on the model's modules, plus nn.Module's global hooks."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    count = sum(len(getattr(m, kind, None) or {}) for m in model.modules() for kind in kinds)
    count += sum(len(getattr(module_globals, "_global" + kind, None) or {}) for kind in kinds)
    return count


def same(a, b):
    """True when a is a tensor with b's shape, device and exactly b's values."""
    if not torch.is_tensor(a) or a.shape != b.shape or a.device != b.device:
        return False
    return torch.equal(a.detach(), b.detach())


def check_feature(features, name, expected, layer_input=None, why=OUTPUT):
    if name not in features:
        fail(f"get_features() has no entry {name!r} after a forward pass; keys: {sorted(features)}. {why}")
    got = features[name]
    if not torch.is_tensor(got):
        fail(f"get_features()[{name!r}] is a {type(got).__name__}, expected the layer's output tensor. {why}")
    if layer_input is not None and same(got, layer_input):
        fail(f"get_features()[{name!r}] is the layer's input, not its output. {OUTPUT}")
    assert_close(got, expected, f"get_features()[{name!r}]", why=why)


def construct_with_bad_name(kata, model, names):
    """Return the exception FeatureExtractor raised (NotImplementedError passes through), or fail."""
    try:
        kata.FeatureExtractor(model, names)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any exception type is judged below
        return exc
    fail(f"FeatureExtractor(model, {names}) raised nothing although a name is not in model.named_modules(): "
         "an unknown layer name must raise ValueError naming it.")


def test_features_are_the_outputs_of_the_named_layers(kata, device):
    """After a forward pass, get_features() holds the output of each named layer of a Sequential."""
    model = seq(device)
    x = torch.randn(5, 4, device=device)
    fx = extract(kata, model, ["0", "2"])
    run(model, x)
    features = features_of(fx)
    with torch.no_grad():
        h0 = model[0](x)
        h1 = model[1](h0)
        h2 = model[2](h1)
    check_feature(features, "0", h0, layer_input=x)
    check_feature(features, "2", h2, layer_input=h1)


def test_dotted_names_reach_nested_layers(kata, device):
    """Dotted names from named_modules(), such as 'layer2.relu' and 'blocks.1.norm', reach nested layers."""
    model = Net().to(device)
    x = torch.randn(3, 4, device=device)
    fx = extract(kata, model, ["layer2.relu", "blocks.1.norm"])
    run(model, x)
    features = features_of(fx)
    with torch.no_grad():
        normed = model.layer2.norm(model.layer2.linear(model.stem(x)))
        relu_out = model.layer2.relu(normed)
        block1 = model.blocks[1]
        before_norm = block1.linear(model.blocks[0](relu_out))
        norm_out = block1.norm(before_norm)
    check_feature(features, "layer2.relu", relu_out, layer_input=normed)
    check_feature(features, "blocks.1.norm", norm_out, layer_input=before_norm)


def test_feature_keys_are_the_requested_layer_names(kata, device):
    """get_features() is keyed by exactly the requested layer names."""
    model = Net().to(device)
    names = ["stem", "blocks.0", "head"]
    fx = extract(kata, model, names)
    run(model, torch.randn(2, 4, device=device))
    assert_keys(features_of(fx), names, "get_features() keys",
                why="Key each feature by the dotted name the caller asked for.")


def test_features_carry_no_autograd_history(kata, device):
    """Stored features are detached: no grad_fn and no requires_grad, although the model's output has both."""
    model = seq(device)
    x = torch.randn(5, 4, device=device, requires_grad=True)
    fx = extract(kata, model, ["0", "1", "2"])
    run(model, x)
    features = features_of(fx)
    for name in ("0", "1", "2"):
        if name not in features:
            fail(f"get_features() has no entry {name!r} after a forward pass.")
        assert_no_history(features[name], f"get_features()[{name!r}]", why=DETACH)


def test_features_stay_on_the_models_device(kata, device):
    """Features are on the device the model ran on."""
    model = seq(device)
    fx = extract(kata, model, ["1"])
    run(model, torch.randn(2, 4, device=device))
    features = features_of(fx)
    feature = features.get("1")
    if not torch.is_tensor(feature):
        fail(f"get_features()['1'] should be a tensor after a forward pass, got {type(feature).__name__}.")
    if feature.device.type != device.type:
        fail(f"get_features()['1'] is on {feature.device.type}, but the model ran on {device.type}: "
             "keep features on the model's device (detach, do not move them).")


def test_features_hold_the_latest_forward_pass(kata, device):
    """A second forward pass replaces the features of the first: they are the latest outputs."""
    model = seq(device)
    fx = extract(kata, model, ["0"])
    first, second = torch.randn(2, 4, device=device), torch.randn(3, 4, device=device)
    run(model, first)
    run(model, second)
    with torch.no_grad():
        expected = model[0](second)
    check_feature(features_of(fx), "0", expected, layer_input=second,
                  why="After two forward passes the feature must be the output of the latest one.")


def test_tuple_and_list_outputs_are_detached_element_by_element(kata, device):
    """A layer returning a tuple or list is recorded as a tuple/list of detached tensors."""
    model = MultiOutputNet().to(device)
    x = torch.randn(3, 4, device=device)
    why = "When a layer returns a tuple or list, detach its elements one by one."
    fx = extract(kata, model, ["pair", "split"])
    run(model, x, why=why)
    features = features_of(fx)
    with torch.no_grad():
        y = model.pair.linear(x)
        expected = {"pair": [y, y * 2], "split": list((y + y * 2).chunk(2, dim=-1))}
    for name, parts in expected.items():
        got = features.get(name)
        if name == "pair" and same(got, x):
            fail(f"get_features()['pair'] is the layer's input, not its output. {OUTPUT}")
        if not isinstance(got, (tuple, list)) or len(got) != len(parts):
            fail(f"get_features()[{name!r}] should be a tuple/list of {len(parts)} tensors like the layer's "
                 f"output, got {type(got).__name__}. {why}")
        for i, (part, want) in enumerate(zip(got, parts, strict=True)):
            assert_no_history(part, f"get_features()[{name!r}][{i}]", why=why)
            assert_close(part, want, f"get_features()[{name!r}][{i}]", why=OUTPUT)


def test_extraction_leaves_the_model_output_unchanged(kata, device):
    """With hooks on every layer, the model's output has the same values and still requires grad."""
    model = seq(device)
    x = torch.randn(5, 4, device=device)
    expected = model(x)
    extract(kata, model, ["0", "1", "2"])
    out = run(model, x)
    if not torch.is_tensor(out) or not out.requires_grad:
        fail("with the extractor attached the model's output no longer requires grad: " + RETURN_NONE)
    assert_close(out, expected.detach(), "the model's output with the extractor attached", why=RETURN_NONE)


def test_extraction_leaves_the_gradients_unchanged(kata, device):
    """Backward through a model with hooked intermediate layers gives every parameter the same gradient."""
    model = seq(device)
    reference = copy.deepcopy(model)
    x = torch.randn(5, 4, device=device)
    r = torch.randn(5, 3, device=device)
    (reference(x) * r).sum().backward()
    extract(kata, model, ["0", "1"])
    out = run(model, x)
    attempt(lambda: (out * r).sum().backward(), why=RETURN_NONE,
            doing="backward through the model with the extractor attached")
    expected = dict(reference.named_parameters())
    for name, param in model.named_parameters():
        if param.grad is None:
            fail(f"parameter {name!r} got no gradient with the extractor attached: " + RETURN_NONE)
        what = f"{name}.grad with the extractor attached"
        assert_close(param.grad, expected[name].grad, what, why=RETURN_NONE)


def test_unknown_name_raises_value_error_naming_it(kata, device):
    """An unknown layer name raises ValueError naming it, not a bare AttributeError or IndexError."""
    for bad in ("layer2.nope", "blocks.5.norm"):
        names = ["stem", bad]
        exc = construct_with_bad_name(kata, Net().to(device), names)
        if not isinstance(exc, ValueError):
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            fail(f"FeatureExtractor(model, {names}) raised {detail}; an unknown layer name must raise "
                 "ValueError naming it. Look names up in dict(model.named_modules()), don't walk the model.")
        if bad not in str(exc):
            fail(f"the ValueError for the unknown name {bad!r} should name it; its message was {str(exc)!r}.")


def test_unknown_name_leaves_no_hook_on_the_model(kata, device):
    """A bad name after good ones leaves no hook behind: names are validated before any hook is registered."""
    model = Net().to(device)
    before = hook_count(model)
    construct_with_bad_name(kata, model, ["stem", "layer2.relu", "layer2.nope"])
    left = hook_count(model) - before
    if left:
        fail(f"a failed FeatureExtractor(...) left {left} hook(s) registered on the model, and nothing can "
             "remove them: validate every name before registering any hook.")


def test_remove_hooks_removes_every_hook(kata, device):
    """After remove_hooks() none of the extractor's hooks remain, and a forward pass records nothing new."""
    model = seq(device)
    before = hook_count(model)
    fx = extract(kata, model, ["0", "2"])
    run(model, torch.randn(2, 4, device=device))
    attempt(fx.remove_hooks, doing="remove_hooks()")
    left = hook_count(model) - before
    if left:
        fail(f"remove_hooks() did not remove the hooks: {left} still registered on the model. Keep the "
             "handles register_forward_hook returns and call handle.remove() on each.")
    x = torch.randn(3, 4, device=device)
    run(model, x)
    with torch.no_grad():
        fresh = model[0](x)
    stale = features_of(fx, "get_features() after remove_hooks()").get("0")
    if same(stale, fresh):
        fail("remove_hooks() did not remove the hooks: a forward pass after it still recorded features.")


def test_remove_hooks_can_be_called_twice(kata, device):
    """Calling remove_hooks() a second time is harmless."""
    model = seq(device)
    fx = extract(kata, model, ["0"])
    attempt(fx.remove_hooks, doing="remove_hooks()")
    attempt(fx.remove_hooks, doing="remove_hooks() a second time", why="It must be safe to call twice.")
    run(model, torch.randn(2, 4, device=device))


def test_remove_hooks_leaves_other_hooks_alone(kata, device):
    """remove_hooks() removes only the extractor's own hooks: a hook someone else registered still runs."""
    model = seq(device)
    calls = []
    model[0].register_forward_hook(lambda module, inputs, output: calls.append(1))
    fx = extract(kata, model, ["0"])
    attempt(fx.remove_hooks, doing="remove_hooks()")
    run(model, torch.randn(2, 4, device=device))
    if not calls:
        fail("remove_hooks() also removed a hook it did not register: remove only your own handles, never "
             "clear module._forward_hooks.")


def test_with_statement_binds_the_extractor(kata, device):
    """`with FeatureExtractor(...) as fx` binds fx to the extractor itself, which records features inside."""
    model = seq(device)
    x = torch.randn(2, 4, device=device)
    extractor = extract(kata, model, ["0"])
    with extractor as bound:
        if bound is not extractor:
            fail(f"`with extractor as fx` bound fx to {type(bound).__name__}: __enter__ must return self.")
        run(model, x)
        features = features_of(bound)
    with torch.no_grad():
        check_feature(features, "0", model[0](x), layer_input=x)


def test_leaving_the_with_block_removes_the_hooks(kata, device):
    """On leaving the with-block, every hook the extractor registered is removed."""
    model = seq(device)
    before = hook_count(model)
    with extract(kata, model, ["0", "1"]):
        run(model, torch.randn(2, 4, device=device))
    left = hook_count(model) - before
    if left:
        fail(f"{left} hook(s) are still registered after the with-block: __exit__ must call remove_hooks().")


def test_an_error_in_the_with_block_propagates_and_removes_the_hooks(kata, device):
    """When the body of the with-block raises, the hooks are removed and the exception is not swallowed."""

    class BodyError(Exception):
        pass

    model = seq(device)
    before = hook_count(model)
    propagated = False
    try:
        with extract(kata, model, ["0"]):
            raise BodyError
    except BodyError:
        propagated = True
    left = hook_count(model) - before
    if left:
        fail(f"{left} hook(s) are still registered after the with-block raised: __exit__ runs on an "
             "exception too, and must remove the hooks.")
    if not propagated:
        fail("the exception raised inside the with-block was swallowed: __exit__ must return None or False.")


def test_two_extractors_on_two_models_keep_separate_features(kata, device):
    """Two extractors on two models each keep their own model's features: instances share no state."""
    model_a, model_b = seq(device), seq(device)
    fx_a = extract(kata, model_a, ["0"])
    extract(kata, model_b, ["0"])
    x_a, x_b = torch.randn(2, 4, device=device), torch.randn(2, 4, device=device)
    run(model_a, x_a)
    run(model_b, x_b)
    with torch.no_grad():
        expected_a, output_b = model_a[0](x_a), model_b[0](x_b)
    got = features_of(fx_a).get("0")
    if same(got, output_b):
        fail("the first extractor returned the second model's features: state is shared between instances "
             "(a class attribute?). Create the features dict and the handle list in __init__.")
    check_feature(features_of(fx_a), "0", expected_a, layer_input=x_a)


def test_removing_one_extractor_leaves_the_other_working(kata, device):
    """remove_hooks() on one extractor leaves another extractor's hooks on another model in place."""
    model_a, model_b = seq(device), seq(device)
    fx_a = extract(kata, model_a, ["0"])
    fx_b = extract(kata, model_b, ["0"])
    attempt(fx_a.remove_hooks, doing="remove_hooks() on the first extractor")
    x = torch.randn(2, 4, device=device)
    run(model_b, x)
    with torch.no_grad():
        expected = model_b[0](x)
    check_feature(features_of(fx_b), "0", expected, layer_input=x,
                  why="Removing the first extractor's hooks must not touch the second's: if it does, state "
                      "is shared between instances (a class attribute?).")
