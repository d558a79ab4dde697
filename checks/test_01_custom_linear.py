"""Kata 01: CustomLinear, a linear layer from scratch. Each spec checks one behaviour."""

import math

import torch
from torch import nn

from kata_runner.asserts import (
    assert_close,
    assert_gradients_match_finite_differences,
    assert_keys,
    assert_on_device,
    assert_parameter,
    assert_shape,
    attempt,
    fail,
)

LAYOUT = (
    "nn.Linear stores its weight as (out_features, in_features); keep that layout so state_dicts are interchangeable."
)


def make(kata, *args, **kwargs):
    return attempt(kata.CustomLinear, *args, doing=f"CustomLinear{args}", **kwargs)


def set_values(layer, weight, bias=None):
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)


def test_weight_is_a_parameter_of_shape_out_by_in(kata, device):
    """weight is a registered nn.Parameter of shape (out_features, in_features)."""
    layer = make(kata, 10, 5, device=device)
    weight = assert_parameter(layer, "weight")
    assert_shape(weight, (5, 10), "weight", why=LAYOUT)


def test_bias_is_a_parameter_of_shape_out(kata, device):
    """bias is a registered nn.Parameter of shape (out_features,)."""
    layer = make(kata, 10, 5, device=device)
    bias = assert_parameter(layer, "bias")
    assert_shape(bias, (5,), "bias")


def test_bias_false_registers_bias_as_none(kata, device):
    """With bias=False the bias flag is honoured: layer.bias is None and nothing named bias is registered."""
    layer = make(kata, 10, 5, bias=False, device=device)
    if getattr(layer, "bias", "missing") is not None:
        fail(
            "with bias=False, layer.bias should be None: the bias flag is ignored. "
            "Use register_parameter('bias', None)."
        )
    assert_keys(dict(layer.named_parameters()), ["weight"], "named_parameters() with bias=False")
    assert_keys(layer.state_dict(), ["weight"], "state_dict() keys with bias=False")


def test_in_and_out_features_are_kept_as_attributes(kata, device):
    """in_features and out_features are stored as attributes, as nn.Linear does."""
    layer = make(kata, 7, 3, device=device)
    if (getattr(layer, "in_features", None), getattr(layer, "out_features", None)) != (7, 3):
        fail("CustomLinear(7, 3) should have in_features == 7 and out_features == 3.")


def test_repr_shows_sizes_and_bias(kata, device):
    """repr shows in_features, out_features and whether there is a bias (via extra_repr)."""
    text = repr(make(kata, 10, 5, device=device))
    if "in_features=10, out_features=5, bias=True" not in text:
        fail(f"repr should contain 'in_features=10, out_features=5, bias=True'; got {text!r}. Override extra_repr().")
    text = repr(make(kata, 10, 5, bias=False, device=device))
    if "bias=False" not in text:
        fail(f"repr of a layer built with bias=False should contain 'bias=False'; got {text!r}.")


def test_weight_init_is_uniform_within_one_over_sqrt_in(kata, device):
    """The weight initialisation matches nn.Linear: U(-1/sqrt(in), 1/sqrt(in))."""
    in_features, out_features = 256, 128
    weight = make(kata, in_features, out_features, device=device).weight.detach().cpu()
    bound = 1 / math.sqrt(in_features)
    biggest = float(weight.abs().max())
    if biggest > bound * (1 + 1e-6):
        fail(
            f"weight initialisation is not scaled: found |w| = {biggest:.3g}, but nn.Linear's init keeps every weight "
            f"within 1/sqrt(in_features) = {bound:.3g}. Unscaled randn makes activations grow with every layer."
        )
    std = float(weight.std())
    expected = bound / math.sqrt(3)  # the std of U(-b, b)
    if not (0.9 * expected < std < 1.1 * expected):
        fail(
            f"weight initialisation has std {std:.3g}; U(-1/sqrt(in), 1/sqrt(in)) has std {expected:.3g}. "
            "Initialise like nn.Linear (kaiming_uniform_ with a=sqrt(5))."
        )


def test_weight_init_breaks_symmetry(kata, device):
    """Initial weights differ between output units, so they do not all learn the same thing."""
    weight = make(kata, 16, 8, device=device).weight.detach()
    if bool((weight == weight[0]).all()):
        fail(
            "every output unit starts with the same weights (for example all zeros): gradients are then identical "
            "too, so the symmetry is never broken. Initialise the weight randomly, like nn.Linear."
        )


def test_bias_init_is_zero_or_within_the_weight_bound(kata, device):
    """The bias starts at zero or within U(-1/sqrt(in), 1/sqrt(in)), as nn.Linear's does."""
    bias = make(kata, 64, 512, device=device).bias.detach()
    bound = 1 / math.sqrt(64)
    if float(bias.abs().max()) > bound * (1 + 1e-6):
        fail(
            f"bias initialisation is not scaled: |b| reaches {float(bias.abs().max()):.3g}, "
            f"beyond 1/sqrt(in) = {bound:.3g}."
        )


def test_forward_computes_x_times_weight_transposed_plus_bias(kata, device):
    """forward(x) equals x @ weight.T + bias for a batch of inputs."""
    layer = make(kata, 4, 3, device=device)
    weight = torch.randn(3, 4, device=device)
    bias = torch.randn(3, device=device)
    set_values(layer, weight, bias)
    x = torch.randn(6, 4, device=device)
    out = attempt(layer, x, doing="forward on a (6, 4) input")
    assert_close(out, x @ weight.T + bias, "forward(x)", why="Expected x @ weight.T + bias.")


def test_forward_adds_the_bias(kata, device):
    """The bias is added to every row of the output."""
    layer = make(kata, 4, 3, device=device)
    set_values(layer, torch.zeros(3, 4, device=device), torch.tensor([1.0, -2.0, 3.0], device=device))
    out = attempt(layer, torch.randn(5, 4, device=device), doing="forward on a (5, 4) input")
    assert_close(
        out,
        torch.tensor([1.0, -2.0, 3.0], device=device).expand(5, 3),
        "forward(x) with a zero weight",
        why="With a zero weight the output must equal the bias: is the bias added?",
    )


def test_forward_without_bias_is_x_times_weight_transposed(kata, device):
    """With bias=False, forward(x) is exactly x @ weight.T."""
    layer = make(kata, 4, 3, bias=False, device=device)
    x = torch.randn(5, 4, device=device)
    out = attempt(layer, x, doing="forward of a layer built with bias=False")
    assert_close(out, x @ layer.weight.detach().T, "forward(x) with bias=False")


def test_forward_accepts_any_leading_shape(kata, device):
    """Inputs of shape (*, in_features) work: a single vector and a 4-D batch alike."""
    layer = make(kata, 10, 5, device=device)
    why = "A linear layer must accept any leading batch dimensions (*, in_features), like nn.Linear."
    for shape in [(10,), (2, 3, 7, 10)]:
        x = torch.randn(*shape, device=device)
        out = attempt(layer, x, doing=f"forward on an input of shape {shape}", why=why)
        expected = x @ layer.weight.detach().T + layer.bias.detach()
        assert_close(out, expected, f"forward on an input of shape {shape}", why=why)


def test_state_dict_loads_into_nn_linear_and_back(kata, device):
    """state_dict() is interchangeable with nn.Linear's: same keys, same shapes, same outputs."""
    layer = make(kata, 6, 4, device=device)
    reference = nn.Linear(6, 4, device=device)
    assert_keys(layer.state_dict(), reference.state_dict().keys(), "state_dict() keys", why=LAYOUT)
    attempt(reference.load_state_dict, layer.state_dict(), doing="nn.Linear.load_state_dict(yours)", why=LAYOUT)
    x = torch.randn(3, 6, device=device)
    assert_close(attempt(layer, x, doing="forward"), reference(x).detach(), "forward after loading into nn.Linear")
    fresh = nn.Linear(6, 4, device=device)
    attempt(layer.load_state_dict, fresh.state_dict(), doing="CustomLinear.load_state_dict(nn.Linear's)", why=LAYOUT)
    assert_close(attempt(layer, x, doing="forward"), fresh(x).detach(), "forward after loading nn.Linear's state_dict")


def test_factory_arguments_device_and_dtype_are_honoured(kata, device):
    """Parameters are created on the requested device with the requested dtype."""
    layer = make(kata, 4, 3, device=device, dtype=torch.float64)
    why = "Pass device= and dtype= through to the tensors you create (factory arguments)."
    for name, param in layer.named_parameters():
        assert_on_device(param, device, f"{name} created with device={device.type!r}")
        if param.dtype != torch.float64:
            fail(f"{name} has dtype {param.dtype} although the layer was built with dtype=torch.float64. {why}")
    out = attempt(layer, torch.randn(2, 4, device=device, dtype=torch.float64), doing="forward in float64")
    assert_close(out, out.detach().clone(), "forward in float64")


def test_parameters_follow_to_and_double(kata, device):
    """Because they are registered, the parameters move with .to(device) and cast with .double()."""
    layer = make(kata, 4, 3).to(device).double()
    for name, param in layer.named_parameters():
        assert_on_device(param, device, f"{name} after .to({device.type!r})")
        if param.dtype != torch.float64:
            fail(f"{name} is still {param.dtype} after .double(): only registered Parameters are cast.")


def test_gradients_reach_weight_and_bias(kata, device):
    """Backward fills weight.grad and bias.grad, and they pass gradcheck in float64."""
    layer = make(kata, 3, 2, device=device, dtype=torch.float64)
    x = torch.randn(4, 3, device=device, dtype=torch.float64, requires_grad=True)
    attempt(layer, x, doing="forward").sum().backward()
    for name in ("weight", "bias"):
        grad = getattr(layer, name).grad
        if grad is None:
            fail(
                f"{name}.grad is None after backward: gradients do not reach {name}. "
                "Is it an nn.Parameter used in forward?"
            )
    expected = x.detach().sum(0).expand(2, 3)
    assert_close(layer.weight.grad, expected, "weight.grad for loss = output.sum()")

    def forward_with(weight, bias, inp):
        return torch.func.functional_call(layer, {"weight": weight, "bias": bias}, (inp,))

    assert_gradients_match_finite_differences(
        forward_with, [layer.weight, layer.bias, x], "gradcheck of forward with respect to weight, bias and input"
    )
