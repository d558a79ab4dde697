"""Kata 10: attach_input_normalizer, a forward pre-hook that standardises the input. Each spec checks one behaviour."""

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from kata_runner.asserts import assert_close, assert_equal, assert_tensor, attempt, fail

FORMULA = "The first positional argument x must become (x - x.mean()) / (x.std() + eps): the whole tensor's statistics."
REPLACES = "A pre-hook's return value replaces the module's arguments entirely."


class ScaleShift(nn.Module):
    """forward(x, scale=1.0, shift=None) = x * scale + shift; it records the arguments it receives."""

    def forward(self, x, scale=1.0, shift=None):
        self.received = {"x": x, "scale": scale, "shift": shift}
        out = x * scale
        return out if shift is None else out + shift


def standardised(x, eps=1e-5):
    return (x - x.mean()) / (x.std() + eps)


def attach(kata, module, *eps):
    text = f", eps={eps[0]}" if eps else ""
    return attempt(kata.attach_input_normalizer, module, *eps, doing=f"attach_input_normalizer(module{text})")


def attach_handle(kata, module):
    """attach(), and the result must be something with a remove() method."""
    handle = attach(kata, module)
    if not callable(getattr(handle, "remove", None)):
        fail(
            f"attach_input_normalizer returned a {type(handle).__name__}, not a RemovableHandle, so the hook can never "
            "be removed: return the handle that module.register_forward_pre_hook(...) gives you."
        )
    return handle


def call(module, *args, doing, why="", **kwargs):
    module.received = None
    out = attempt(module, *args, doing=doing, why=why, **kwargs)
    if module.received is None:
        fail(f"{doing}: the module's forward was never called. The hook must let forward run.")
    return out


def received_x(module, x, doing):
    call(module, x, doing=doing)
    return assert_tensor(module.received["x"], "the x that forward received")


def returned_bare_tensor(module, handle, args, kwargs):
    """Diagnosis only: call the learner's registered hook directly and see whether it returns a bare tensor."""
    try:
        hook = handle.hooks_dict_ref()[handle.id]
        if handle.id in module._forward_pre_hooks_with_kwargs:
            result = hook(module, args, kwargs)
            result = result[0] if isinstance(result, tuple) and len(result) == 2 else result
        else:
            result = hook(module, args)
        return torch.is_tensor(result)
    except Exception:  # noqa: BLE001 - a failed diagnosis falls back to the general message
        return False


def test_attach_returns_a_removable_handle(kata, device):
    """attach_input_normalizer returns the RemovableHandle that register_forward_pre_hook gave it."""
    module = ScaleShift()
    handle = attach(kata, module)
    if not isinstance(handle, RemovableHandle):
        fail(
            f"attach_input_normalizer returned a {type(handle).__name__}, not a RemovableHandle: return the handle "
            "from module.register_forward_pre_hook(...), so the caller can remove the hook."
        )
    if handle.id not in module._forward_pre_hooks:
        fail("the returned handle does not belong to a forward pre-hook registered on the module.")


def test_forward_receives_the_standardised_input(kata, device):
    """forward receives (x - x.mean()) / (x.std() + eps) in place of x."""
    module = ScaleShift()
    attach(kata, module)
    x = 3 + 2 * torch.randn(4, 6, device=device)
    expected = standardised(x)  # computed first, so a hook that writes into x cannot change it
    got = received_x(module, x, "calling the hooked module on a (4, 6) input")
    assert_close(got, expected, "the x that forward received", why=FORMULA)


def test_output_is_the_module_applied_to_the_standardised_input(kata, device):
    """A hooked nn.Linear returns linear((x - x.mean()) / (x.std() + eps))."""
    linear = nn.Linear(5, 3, device=device)
    attach(kata, linear)
    x = 1 + 4 * torch.randn(8, 5, device=device)
    with torch.no_grad():
        expected = nn.functional.linear(standardised(x), linear.weight, linear.bias)
    out = attempt(linear, x, doing="calling a hooked nn.Linear")
    assert_close(out, expected, "the hooked nn.Linear's output", why=FORMULA)


def test_eps_is_added_to_the_standard_deviation(kata, device):
    """With eps=0.5, [0, 2, 4] (mean 2, std 2) becomes [-0.8, 0, 0.8], in float64."""
    module = ScaleShift()
    attach(kata, module, 0.5)
    x = torch.tensor([0.0, 2.0, 4.0], device=device, dtype=torch.float64)
    got = received_x(module, x, "calling the module hooked with eps=0.5")
    expected = torch.tensor([-0.8, 0.0, 0.8], device=device, dtype=torch.float64)
    assert_close(
        got, expected, "the x that forward received",
        why="Divide by x.std() + eps, with x.std() the default unbiased std, and use the eps argument.",
    )


def test_default_eps_is_1e_minus_5(kata, device):
    """Without an eps argument, eps is 1e-5 (visible on an input whose std is itself about 1e-5)."""
    module = ScaleShift()
    attach(kata, module)
    x = 1e-5 * torch.randn(10, device=device, dtype=torch.float64)
    expected = standardised(x, 1e-5)
    got = received_x(module, x, "calling the module hooked with the default eps")
    assert_close(got, expected, "the x that forward received", why="The default eps is 1e-5.")


def test_a_constant_input_becomes_zeros_not_nan(kata, device):
    """A constant input (std 0) is standardised to zeros: eps keeps the division finite."""
    module = ScaleShift()
    attach(kata, module)
    x = torch.full((3, 4), 7.0, device=device)
    got = received_x(module, x, "calling the hooked module on a constant input")
    assert_close(
        got, torch.zeros(3, 4, device=device), "the x that forward received for a constant input",
        why="Its std is 0: add eps to the std before dividing, so the result is 0, not nan.",
    )


def test_statistics_are_recomputed_on_every_call(kata, device):
    """Each call is standardised with its own input's mean and std, not those of an earlier call."""
    module = ScaleShift()
    attach(kata, module)
    for step, (shift, scale) in enumerate([(0.0, 1.0), (10.0, 5.0)], start=1):
        x = shift + scale * torch.randn(6, 3, device=device)
        expected = standardised(x)
        got = received_x(module, x, f"call {step} of the hooked module")
        assert_close(
            got, expected, f"the x that forward received on call {step}",
            why="Compute the mean and std from each call's x, on every call.",
        )


def test_the_callers_tensor_is_not_modified_in_place(kata, device):
    """After the call, the caller's x still holds its original values: the hook built a new tensor."""
    module = ScaleShift()
    attach(kata, module)
    x = 3 + 2 * torch.randn(4, 5, device=device)
    before, version = x.clone(), x._version
    call(module, x, doing="calling the hooked module")
    why = (
        "The hook modified the caller's tensor in place: the caller still owns x. "
        "Build a new tensor with out-of-place ops, (x - x.mean()) / (x.std() + eps), not sub_()/div_()."
    )
    assert_equal(x, before, "the caller's x after calling the hooked module", why=why)
    if x._version != version:
        fail(f"the caller's x was written in place (its version counter went from {version} to {x._version}). {why}")


def test_gradients_flow_back_to_the_input(kata, device):
    """Backward through a hooked nn.Linear gives x.grad, equal to the gradient through the normalisation."""
    linear = nn.Linear(4, 3, device=device)
    attach(kata, linear)
    x = (2 + 3 * torch.randn(5, 4, device=device)).requires_grad_()
    r = torch.randn(5, 3, device=device)
    reference = x.detach().clone().requires_grad_()
    (nn.functional.linear(standardised(reference), linear.weight.detach(), linear.bias.detach()) * r).sum().backward()
    out = attempt(linear, x, doing="calling a hooked nn.Linear on an x that requires grad")
    attempt((out * r).sum().backward, doing="backward through the hooked nn.Linear")
    if x.grad is None:
        fail(
            "x.grad is None after backward: gradients do not flow back to x through the hook. Do not detach x or "
            "normalise under torch.no_grad(); out-of-place tensor ops are recorded by autograd."
        )
    assert_close(
        x.grad, reference.grad, "x.grad", rtol=1e-4, atol=1e-5,
        why="The gradient must flow through the normalisation, mean and std included: do not detach them.",
    )


def test_extra_positional_arguments_reach_forward_unchanged(kata, device):
    """module(x, 3.0, shift) calls forward(normalised x, 3.0, shift): extra positional arguments are kept."""
    module = ScaleShift()
    handle = attach(kata, module)
    x = 2 + torch.randn(4, 3, device=device)
    shift = torch.randn(4, 3, device=device)
    expected = standardised(x)
    call(module, x, 3.0, shift, doing="calling the hooked module with positional arguments (x, 3.0, shift)")
    scale_got, shift_got = module.received["scale"], module.received["shift"]
    if scale_got == 1.0 or shift_got is None:
        if scale_got == 1.0 and shift_got is None and returned_bare_tensor(module, handle, (x, 3.0, shift), {}):
            fail(
                "forward received only x: the hook returned a bare tensor where a tuple is needed. PyTorch wraps a "
                "non-tuple return value as (value,), so it becomes the whole argument list and scale and shift are "
                f"silently lost. {REPLACES} Return a tuple (normalised_x, *args[1:])."
            )
        fail(
            f"forward received scale={scale_got!r}, shift={'None' if shift_got is None else 'a tensor'}: the hook "
            "dropped the extra positional arguments (3.0 and shift). "
            f"{REPLACES} Return (normalised_x, *args[1:]) to keep them."
        )
    if not isinstance(scale_got, float) or scale_got != 3.0:
        fail(f"forward received scale={scale_got!r} instead of 3.0: leave the other positional arguments untouched.")
    assert_equal(
        assert_tensor(shift_got, "the shift that forward received"), shift, "the shift that forward received",
        why="Only the first positional argument is normalised; leave the other positional arguments untouched.",
    )
    assert_close(module.received["x"], expected, "the x that forward received", why=FORMULA)


def test_keyword_arguments_reach_forward_unchanged(kata, device):
    """module(x, scale=3.0, shift=shift) calls forward(normalised x, scale=3.0, shift=shift)."""
    module = ScaleShift()
    attach(kata, module)
    x = 2 + torch.randn(4, 3, device=device)
    shift = torch.randn(4, 3, device=device)
    expected = standardised(x)
    call(
        module, x, scale=3.0, shift=shift, doing="calling the hooked module with keyword arguments scale and shift",
        why="With with_kwargs=True the hook must return (new_args, new_kwargs).",
    )
    scale_got, shift_got = module.received["scale"], module.received["shift"]
    if scale_got == 1.0 or shift_got is None:
        fail(
            f"forward received scale={scale_got!r}, shift={'None' if shift_got is None else 'a tensor'}: the keyword "
            "arguments were lost. With with_kwargs=True, the (new_args, new_kwargs) the hook returns replace both: "
            "return the kwargs it was given, unchanged (or register without with_kwargs, which passes them through)."
        )
    if scale_got != 3.0:
        fail(f"forward received scale={scale_got!r} instead of 3.0: leave the keyword arguments untouched.")
    assert_equal(
        assert_tensor(shift_got, "the shift keyword argument that forward received"), shift,
        "the shift keyword argument that forward received",
        why="Only the first positional argument is normalised; leave the keyword arguments untouched.",
    )
    assert_close(module.received["x"], expected, "the x that forward received", why=FORMULA)


def test_removing_the_handle_restores_the_plain_module(kata, device):
    """After handle.remove(), forward receives x itself again and the module has no pre-hook left."""
    module = ScaleShift()
    handle = attach_handle(kata, module)
    x = 3 + 2 * torch.randn(4, 5, device=device)
    received_x(module, x, "calling the hooked module")
    attempt(handle.remove, doing="handle.remove()")
    got = received_x(module, x, "calling the module after handle.remove()")
    left = len(module._forward_pre_hooks)
    restore = (
        f"After handle.remove() the module still has {left} forward pre-hook(s): register exactly one hook and "
        "return its handle, so that removing it restores the plain module."
        if left
        else "Removing the handle must restore the plain module: forward still receives a modified x."
    )
    if got is not x:
        assert_equal(got, x, "the x that forward received after handle.remove()", why=restore)
    if left:
        fail(restore)
