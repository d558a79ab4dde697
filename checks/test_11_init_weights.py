"""Kata 11: init_weights(module) for model.apply. Each spec checks one behaviour.

The statistics specs compare a weight's sample mean and std with Kaiming normal's N(0, 2 / fan_out).
Their tolerance is sized for the tensor: six standard errors of the sample statistic (the std of a
normal sample of n values has a relative standard error of 1 / sqrt(2n)), so a correct
initialisation passes under any seed and on any device's random generator, while the fan_in
scale, a missing ReLU gain or the default init are all many standard errors away.
"""

import copy
import math

import torch
from torch import nn

from kata_runner.asserts import assert_equal, attempt, fail

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


def apply_init(kata, model, on="", why=""):
    """model.apply(init_weights), with a crash turned into a verdict."""
    doing = "model.apply(init_weights)" + (f" on {on}" if on else "")
    return attempt(model.apply, kata.init_weights, doing=doing, why=why)


def fill(model, value):
    """Overwrite every parameter with a recognisable value, so an untouched one can be spotted."""
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(value)


def snapshot(model):
    return {name: param.detach().clone() for name, param in model.named_parameters()}


def fans(weight):
    receptive = math.prod(weight.shape[2:])
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def assert_initialised(layer, before, what):
    """The weight must have changed: a Kaiming layer left as it was has been skipped."""
    if torch.equal(layer.weight.detach(), before):
        if isinstance(layer, nn.Linear):
            fail(f"init_weights left {what}'s weight untouched: nn.Linear layers must be initialised. {KAIMING}")
        fail(
            f"init_weights left {what}'s weight untouched: Conv layers (nn.Conv1d, nn.Conv2d) need Kaiming init too, "
            f"not only nn.Linear. {KAIMING}"
        )


def assert_kaiming_normal_fan_out(weight, what):
    """Sample mean ~ 0 and sample std ~ sqrt(2 / fan_out), within six standard errors."""
    w = weight.detach().to(device="cpu", dtype=torch.float64).reshape(-1)
    n = w.numel()
    fan_in, fan_out = fans(weight)
    fan_out_is = "out_features" if weight.dim() == 2 else "out_channels times the kernel size"
    expected = math.sqrt(2 / fan_out)
    std, mean = float(w.std()), float(w.mean())
    tolerance = 6 / math.sqrt(2 * n)
    if abs(std / expected - 1) > tolerance:
        diagnosis = ""
        if abs(std / math.sqrt(2 / fan_in) - 1) <= tolerance:
            diagnosis = (
                f" {std:.4g} is sqrt(2 / fan_in) with fan_in = {fan_in}: pass mode='fan_out' "
                "(kaiming_normal_'s default is mode='fan_in')."
            )
        elif abs(std / math.sqrt(1 / fan_out) - 1) <= tolerance:
            diagnosis = f" {std:.4g} is 1 / sqrt(fan_out), without the ReLU gain sqrt(2): pass nonlinearity='relu'."
        fail(
            f"{what} has std {std:.4g}, but Kaiming normal with mode='fan_out' and the ReLU gain gives "
            f"sqrt(2 / fan_out) = {expected:.4g}, with fan_out = {fan_out_is} = {fan_out} for a weight of shape "
            f"{tuple(weight.shape)} (tolerance {tolerance:.1%}).{diagnosis}"
        )
    if abs(mean) > 6 * expected / math.sqrt(n):
        fail(f"{what} has mean {mean:.4g}; Kaiming normal draws from N(0, 2 / fan_out), centred on zero. {KAIMING}")


def assert_layer_gets_kaiming(kata, layer, what):
    fill(layer, 3.0)
    before = layer.weight.detach().clone()
    apply_init(kata, layer, what)
    assert_initialised(layer, before, what)
    assert_kaiming_normal_fan_out(layer.weight, f"{what}.weight")


class Custom(nn.Module):
    """A module of one's own whose parameters merely happen to be called weight and bias."""

    def __init__(self, device):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(32, 16, device=device))
        self.bias = nn.Parameter(torch.randn(32, device=device))


class Block(nn.Module):
    """A parent with its own Parameters next to child layers that must be initialised."""

    def __init__(self, device):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(64, 32, device=device))
        self.temperature = nn.Parameter(torch.tensor(0.7, device=device))
        self.fc = nn.Linear(32, 64, device=device)


def test_linear_weight_is_kaiming_normal_with_std_sqrt_two_over_fan_out(kata, device):
    """An nn.Linear weight gets mean 0 and std sqrt(2 / fan_out), fan_out = out_features."""
    assert_layer_gets_kaiming(kata, nn.Linear(512, 64, device=device), "Linear(512, 64)")


def test_conv1d_weight_is_kaiming_normal_with_std_sqrt_two_over_fan_out(kata, device):
    """An nn.Conv1d weight gets mean 0 and std sqrt(2 / fan_out), fan_out = out_channels * kernel_size."""
    assert_layer_gets_kaiming(kata, nn.Conv1d(16, 128, 7, device=device), "Conv1d(16, 128, 7)")


def test_conv2d_weight_is_kaiming_normal_with_std_sqrt_two_over_fan_out(kata, device):
    """An nn.Conv2d weight gets mean 0 and std sqrt(2 / fan_out), fan_out = out_channels * kh * kw."""
    assert_layer_gets_kaiming(kata, nn.Conv2d(4, 64, 5, device=device), "Conv2d(4, 64, 5)")


def test_weights_are_normally_distributed(kata, device):
    """The weights follow a normal distribution: about 4.6% of them lie beyond two standard deviations."""
    layer = nn.Linear(512, 64, device=device)
    apply_init(kata, layer, "Linear(512, 64)")
    w = layer.weight.detach().to(device="cpu", dtype=torch.float64).reshape(-1)
    beyond = float(((w - w.mean()).abs() > 2 * w.std()).double().mean())
    if not 0.035 < beyond < 0.058:
        fail(
            f"{beyond:.2%} of Linear(512, 64).weight lies beyond two standard deviations of its mean, where a normal "
            "distribution puts 4.6%: the weights are not normally distributed. Use kaiming_normal_, not "
            "kaiming_uniform_ or a truncated normal."
        )


def test_linear_and_conv_biases_are_zero(kata, device):
    """The biases of Linear, Conv1d and Conv2d layers are exactly zero."""
    layers = {
        "Linear(8, 4)": nn.Linear(8, 4, device=device),
        "Conv1d(3, 4, 3)": nn.Conv1d(3, 4, 3, device=device),
        "Conv2d(3, 4, 3)": nn.Conv2d(3, 4, 3, device=device),
    }
    for what, layer in layers.items():
        fill(layer, 3.0)
        apply_init(kata, layer, what)
        if torch.equal(layer.bias.detach(), torch.full_like(layer.bias, 3.0)):
            assert_initialised(layer, torch.full_like(layer.weight, 3.0), what)
        assert_equal(layer.bias.detach(), torch.zeros(4, device=device), f"{what}.bias", why=ZERO_BIAS)


def test_batchnorm_weight_is_ones_and_bias_is_zeros(kata, device):
    """BatchNorm1d and BatchNorm2d get weight exactly ones and bias exactly zeros."""
    for layer in (nn.BatchNorm1d(16, device=device), nn.BatchNorm2d(16, device=device)):
        what = type(layer).__name__
        fill(layer, 3.0)
        apply_init(kata, layer, what)
        assert_equal(layer.weight.detach(), torch.ones(16, device=device), f"{what}.weight", why=IDENTITY)
        assert_equal(layer.bias.detach(), torch.zeros(16, device=device), f"{what}.bias", why=IDENTITY)


def test_layernorm_weight_is_ones_and_bias_is_zeros(kata, device):
    """LayerNorm over a (4, 8) shape gets weight exactly ones and bias exactly zeros."""
    layer = nn.LayerNorm((4, 8), device=device)
    fill(layer, 3.0)
    apply_init(kata, layer, "LayerNorm((4, 8))")
    assert_equal(layer.weight.detach(), torch.ones(4, 8, device=device), "LayerNorm.weight", why=IDENTITY)
    assert_equal(layer.bias.detach(), torch.zeros(4, 8, device=device), "LayerNorm.bias", why=IDENTITY)


def test_layers_built_with_bias_false_are_initialised_without_error(kata, device):
    """Linear, Conv1d and Conv2d built with bias=False get their weight initialised, and nothing crashes."""
    model = nn.Sequential(
        nn.Linear(512, 128, bias=False, device=device),
        nn.Conv1d(16, 128, 7, bias=False, device=device),
        nn.Conv2d(4, 64, 5, bias=False, device=device),
    )
    fill(model, 3.0)
    apply_init(kata, model, on="layers built with bias=False", why=NO_BIAS)
    for layer in model:
        what = f"the {type(layer).__name__} built with bias=False"
        assert_initialised(layer, torch.full_like(layer.weight, 3.0), what)
        assert_kaiming_normal_fan_out(layer.weight, f"{what}: its weight")


def test_norm_layers_without_affine_parameters_are_skipped_without_error(kata, device):
    """Norm layers whose weight or bias is None (affine=False, bias=False) are handled without error."""
    model = nn.Sequential(
        nn.BatchNorm1d(16, affine=False, device=device),
        nn.LayerNorm(16, elementwise_affine=False, device=device),
        nn.LayerNorm(16, bias=False, device=device),
    )
    fill(model, 3.0)
    apply_init(kata, model, on="norm layers without affine parameters", why=NO_AFFINE)
    weight = model[2].weight.detach()
    assert_equal(weight, torch.ones(16, device=device), "LayerNorm(16, bias=False).weight", why=IDENTITY)


def test_other_modules_are_left_untouched(kata, device):
    """nn.Embedding and a custom module with parameters named weight and bias keep their values."""
    model = nn.Sequential(nn.Embedding(10, 8, device=device), Custom(device), nn.ReLU())
    before = snapshot(model)
    apply_init(kata, model)
    for name, param in model.named_parameters():
        if not torch.equal(param.detach(), before[name]):
            owner = type(model.get_submodule(name.rpartition(".")[0])).__name__
            fail(f"init_weights changed {name}, a parameter of {owner}. {UNTOUCHED}")


def test_custom_parameters_of_a_parent_module_are_left_untouched(kata, device):
    """A module's own custom Parameters stay as they were while its Linear child is initialised."""
    model = Block(device)
    fill(model.fc, 3.0)
    before = snapshot(model)
    apply_init(kata, model, on="a Block")
    for name in ("scale", "temperature"):
        if not torch.equal(getattr(model, name).detach(), before[name]):
            fail(f"init_weights changed Block.{name}, a custom Parameter of a plain module. {UNTOUCHED}")
    assert_initialised(model.fc, before["fc.weight"], "Block.fc")


def test_apply_reaches_layers_nested_at_any_depth(kata, device):
    """model.apply(init_weights) initialises layers nested inside containers and custom modules."""
    model = nn.Sequential(
        nn.Sequential(nn.Sequential(nn.Conv2d(4, 64, 5, device=device), nn.BatchNorm2d(64, device=device))),
        nn.ModuleDict({"head": nn.ModuleList([Block(device)])}),
    )
    fill(model, 3.0)
    apply_init(kata, model, on="a nested model")
    conv, norm, linear = model[0][0][0], model[0][0][1], model[1]["head"][0].fc
    assert_initialised(conv, torch.full_like(conv.weight, 3.0), "the nested Conv2d")
    assert_kaiming_normal_fan_out(conv.weight, "the nested Conv2d's weight")
    assert_initialised(linear, torch.full_like(linear.weight, 3.0), "the nested Linear")
    assert_kaiming_normal_fan_out(linear.weight, "the nested Linear's weight")
    assert_equal(linear.bias.detach(), torch.zeros(64, device=device), "the nested Linear's bias", why=ZERO_BIAS)
    assert_equal(norm.weight.detach(), torch.ones(64, device=device), "the nested BatchNorm2d's weight", why=IDENTITY)


def test_parameters_are_initialised_in_place(kata, device):
    """The registered Parameters stay the same objects, on the same device, with the same dtype."""
    model = nn.Sequential(
        nn.Linear(16, 8, device=device, dtype=torch.float64),
        nn.Conv2d(3, 8, 3, device=device, dtype=torch.float64),
        nn.LayerNorm(8, device=device, dtype=torch.float64),
    )
    before = dict(model.named_parameters())
    apply_init(kata, model)
    after = dict(model.named_parameters())
    for name, param in before.items():
        if after.get(name) is not param:
            fail(f"init_weights replaced {name} with a new tensor. {IN_PLACE}")
        if param.device.type != device.type or param.dtype != torch.float64:
            fail(
                f"after init_weights, {name} is {param.dtype} on {param.device.type}; it was float64 on "
                f"{device.type}. {IN_PLACE}"
            )


def _seeded_models(kata, device, seeds):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 16, device=device), nn.Conv2d(3, 8, 3, device=device))
    results = []
    for seed in seeds:
        copy_ = copy.deepcopy(model)
        torch.manual_seed(seed)
        apply_init(kata, copy_)
        results.append(snapshot(copy_))
    return results


def test_same_seed_gives_the_same_weights(kata, device):
    """torch.manual_seed(s) followed by model.apply(init_weights) gives the same weights every time."""
    first, second = _seeded_models(kata, device, [123, 123])
    for name, value in first.items():
        assert_equal(
            second[name], value, f"{name} initialised twice under torch.manual_seed(123)",
            why=f"The initialisation is not reproducible. {SEEDED}",
        )  # fmt: skip


def test_different_seeds_give_different_weights(kata, device):
    """Under two different seeds the Kaiming-initialised weights differ: the global generator is used."""
    first, second = _seeded_models(kata, device, [123, 124])
    for name in ("0.weight", "1.weight"):
        if torch.equal(first[name], second[name]):
            fail(f"{name} is identical under torch.manual_seed(123) and torch.manual_seed(124). {SEEDED}")
