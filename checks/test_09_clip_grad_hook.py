"""Kata 09: clipping gradients with a full backward hook and with tensor hooks. Each spec checks one behaviour."""

import functools

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from kata_runner.asserts import assert_close, assert_equal, assert_shape, assert_tensor, attempt, fail

RESCALE = "Rescale the whole tensor, g * (max_norm / g.norm()), when its norm exceeds max_norm."
INPUTS = (
    "A full backward hook's return value replaces grad_input, the gradient with respect to the module's inputs "
    "(what flows back to earlier layers)."
)


class ScaleAdd(nn.Module):
    """forward(x, scale, y) = x * scale + y: `scale` is a float, so grad_input[1] is None."""

    def forward(self, x, scale, y):
        return x * scale + y


def clipped(grad, max_norm):
    """The expected result: grad rescaled to norm max_norm when its norm exceeds it, else grad itself."""
    norm = grad.norm()
    return grad * (max_norm / norm) if float(norm) > max_norm else grad


def make_hook(kata, max_norm):
    return attempt(kata.clip_gradient_hook, max_norm, doing=f"clip_gradient_hook({max_norm})")


def call_hook(hook, module, grad_input, grad_output):
    """Call the hook as autograd does, and check the shape of what it returns."""
    out = attempt(
        hook, module, grad_input, grad_output,
        doing=f"calling the hook with a grad_input of {len(grad_input)} entries", why=INPUTS,
    )
    if out is None:
        fail(
            "the hook returned None, which tells autograd to keep grad_input as it was: nothing gets clipped. "
            "Return the new grad_input tuple."
        )
    if not isinstance(out, tuple):
        fail(f"the hook returned a {type(out).__name__}; return a tuple, one entry per grad_input entry.")
    if len(out) != len(grad_input):
        fail(
            f"the hook returned a tuple of {len(out)} for a grad_input of {len(grad_input)} entries: keep None entries "
            "in place. grad_input[i] belongs to input i; autograd matches them by position."
        )
    for i, (new_grad, old_grad) in enumerate(zip(out, grad_input)):
        if old_grad is not None and new_grad is not None:
            assert_shape(new_grad, old_grad.shape, f"the hook's grad_input[{i}]", why=INPUTS)
    return out


def clip_parameters(kata, module, max_norm):
    return attempt(
        kata.clip_parameter_gradients, module, max_norm, doing=f"clip_parameter_gradients(model, {max_norm})"
    )


def assert_rejects(fn, max_norm, name):
    """fn(max_norm) must raise ValueError; NotImplementedError passes through (stub not started)."""
    try:
        fn(max_norm)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other error is a wrong verdict for the learner
        fail(f"{name}(max_norm={max_norm}) raised {type(exc).__name__}: {exc}; validate max_norm and raise ValueError.")
    fail(
        f"{name}(max_norm={max_norm}) returned without raising ValueError: validate max_norm first "
        "(it must be > 0: a zero or negative norm budget is meaningless)."
    )


def make_model(device):
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)


def make_batch(device):
    return torch.randn(16, 4, device=device), 10 * torch.randn(16, 3, device=device)


def backward(model, x, r):
    out = attempt(model, x, doing="forward")
    attempt((out * r).sum().backward, doing="backward through the hooked model")


def plain_grads(model, x, r):
    """The unclipped gradients of loss = (model(x) * r).sum(), with .grad reset afterwards."""
    backward(model, x, r)
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return grads


def current_grads(model):
    return {name: p.grad for name, p in model.named_parameters()}


# clip_gradient_hook: the hook called directly, as autograd calls it.


def test_clip_gradient_hook_rejects_a_non_positive_max_norm(kata, device):
    """clip_gradient_hook(0.0) and clip_gradient_hook(-1.0) raise ValueError."""
    for max_norm in (0.0, -1.0):
        assert_rejects(kata.clip_gradient_hook, max_norm, "clip_gradient_hook")


def test_hook_returns_a_new_grad_input_tuple(kata, device):
    """The hook returns a tuple with one entry per grad_input entry (not None)."""
    hook = make_hook(kata, 1.0)
    grad_input = (10 * torch.randn(5, 4, device=device),)
    call_hook(hook, nn.Linear(4, 3, device=device), grad_input, (torch.randn(5, 3, device=device),))


def test_hook_rescales_a_large_gradient_to_norm_max_norm(kata, device):
    """A grad_input tensor whose norm exceeds max_norm comes back with norm exactly max_norm."""
    hook = make_hook(kata, 2.0)
    grad = 10 * torch.randn(5, 4, device=device)
    (out,) = call_hook(hook, nn.Linear(4, 3, device=device), (grad,), (torch.randn(5, 3, device=device),))
    norm = attempt(torch.linalg.vector_norm, out, doing="measuring the returned gradient")
    assert_close(
        norm, torch.tensor(2.0, device=device), f"the norm of a clipped gradient (before: {float(grad.norm()):.3g})",
        why=f"A gradient longer than max_norm=2.0 is rescaled to norm max_norm. {RESCALE}",
    )


def test_hook_keeps_the_gradient_direction(kata, device):
    """Clipping rescales the gradient: the result points in exactly the same direction."""
    hook = make_hook(kata, 2.0)
    grad = 10 * torch.randn(5, 4, device=device)
    (out,) = call_hook(hook, nn.Linear(4, 3, device=device), (grad,), (torch.randn(5, 3, device=device),))
    out = assert_tensor(out, "the hook's grad_input[0]").detach().double()
    cosine = float((out * grad.double()).sum() / (out.norm() * grad.double().norm()))
    if not cosine > 1 - 1e-6:
        fail(
            f"the clipped gradient points in a different direction (cosine {cosine:.4f} with the original): "
            f"clamping elements changes the direction. {RESCALE}"
        )


def test_hook_leaves_gradients_within_max_norm_untouched(kata, device):
    """A grad_input tensor whose norm is at most max_norm is returned unchanged: clipping never scales up."""
    hook = make_hook(kata, 10.0)
    grad = 0.1 * torch.randn(5, 4, device=device)
    (out,) = call_hook(hook, nn.Linear(4, 3, device=device), (grad,), (torch.randn(5, 3, device=device),))
    assert_close(
        out, grad, f"a gradient of norm {float(grad.norm()):.3g} with max_norm=10",
        why="Gradients within max_norm must be left untouched: clipping only shrinks gradients that are too long.",
    )


def test_hook_leaves_a_zero_gradient_zero(kata, device):
    """An all-zero grad_input tensor comes back as zeros, not nan."""
    hook = make_hook(kata, 1.0)
    grad = torch.zeros(5, 4, device=device)
    (out,) = call_hook(hook, nn.Linear(4, 3, device=device), (grad,), (torch.randn(5, 3, device=device),))
    assert_equal(
        out, grad, "a zero gradient after the hook",
        why="Its norm 0 is within max_norm, so it must be left untouched; do not divide by a zero norm.",
    )


def test_hook_keeps_none_entries_in_place(kata, device):
    """None entries of grad_input come back as None at the same positions; the tensors around them are clipped."""
    hook = make_hook(kata, 1.0)
    big, small = 10 * torch.randn(5, 4, device=device), 0.01 * torch.randn(5, 4, device=device)
    out = call_hook(hook, ScaleAdd(), (big, None, small), (torch.randn(5, 4, device=device),))
    if out[1] is not None:
        fail(f"grad_input[1] was None but the hook returned a {type(out[1]).__name__}: keep None entries in place.")
    assert_close(out[0], clipped(big, 1.0), "grad_input[0] (norm above max_norm)", why=RESCALE)
    assert_close(out[2], small, "grad_input[2] (norm within max_norm)", why="Leave it untouched.")


def test_hook_clips_each_input_gradient_on_its_own(kata, device):
    """Each grad_input tensor is clipped on its own to max_norm; there is no norm budget shared between them."""
    hook = make_hook(kata, 1.0)
    first = torch.randn(5, 4, device=device)
    first = 0.8 * first / first.norm()
    second = 10 * torch.randn(5, 4, device=device)
    out = call_hook(hook, ScaleAdd(), (first, None, second), (torch.randn(5, 4, device=device),))
    why = (
        "Each tensor is clipped on its own: any tensor with norm <= max_norm is untouched and every longer one gets "
        "norm max_norm. Splitting the budget or clipping the global norm of all tensors is a different rule."
    )
    assert_close(out[0], first, "grad_input[0] (norm 0.8, max_norm 1.0)", why=why)
    assert_close(out[2], clipped(second, 1.0), f"grad_input[2] (norm {float(second.norm()):.3g})", why=why)


def test_hook_clips_grad_input_not_grad_output(kata, device):
    """The hook returns grad_input clipped; grad_output is only read, never returned in its place."""
    hook = make_hook(kata, 1.0)
    # A square layer: grad_input and grad_output have the same shape, only their values tell them apart.
    grad_input = (10 * torch.randn(5, 4, device=device),)
    grad_output = (10 * torch.randn(5, 4, device=device),)
    (out,) = call_hook(hook, nn.Linear(4, 4, device=device), grad_input, grad_output)
    assert_close(
        out, clipped(grad_input[0], 1.0), "the hook's return value",
        why=f"{INPUTS} Clip grad_input; a full backward hook cannot change grad_output.",
    )


def test_hook_does_not_modify_grad_input_in_place(kata, device):
    """The tensors passed in as grad_input and grad_output are left as they were."""
    hook = make_hook(kata, 1.0)
    grad_input = (10 * torch.randn(5, 4, device=device),)
    grad_output = (10 * torch.randn(5, 3, device=device),)
    before = (grad_input[0].clone(), grad_output[0].clone())
    call_hook(hook, nn.Linear(4, 3, device=device), grad_input, grad_output)
    why = "The hook modified its argument in place: backward hooks must not modify their arguments; return new tensors."
    assert_equal(grad_input[0], before[0], "grad_input[0] after the hook", why=why)
    assert_equal(grad_output[0], before[1], "grad_output[0] after the hook", why=why)


# clip_gradient_hook registered with register_full_backward_hook.


def two_layers(device):
    first, second = nn.Linear(4, 8, device=device), nn.Linear(8, 3, device=device)
    x, r = 10 * torch.randn(16, 4, device=device), 10 * torch.randn(16, 3, device=device)
    # Unhooked reference: the gradient reaching the first layer's output, and the plain weight gradients.
    h = first(x)
    h.retain_grad()
    (second(h) * r).sum().backward()
    reference = {"h": h.grad.clone(), "second.weight": second.weight.grad.clone()}
    first.zero_grad(set_to_none=True)
    second.zero_grad(set_to_none=True)
    return first, second, x, r, reference


def hooked_backward(kata, first, second, x, r, max_norm):
    hook = make_hook(kata, max_norm)
    attempt(second.register_full_backward_hook, hook, doing="second.register_full_backward_hook(hook)")
    out = attempt(second, attempt(first, x, doing="forward"), doing="forward through the hooked layer")
    attempt((out * r).sum().backward, doing="backward through a layer with the hook", why=INPUTS)


def test_registered_hook_clips_the_gradient_flowing_to_earlier_layers(kata, device):
    """Registered on a layer, the hook clips the gradient that reaches the layer before it."""
    first, second, x, r, reference = two_layers(device)
    hooked_backward(kata, first, second, x, r, 1.0)
    expected = clipped(reference["h"], 1.0).T @ x
    assert_close(
        first.weight.grad, expected, "the earlier layer's weight.grad",
        why=f"{INPUTS} Clipped to max_norm, it changes the gradients of every earlier layer.",
    )


def test_registered_hook_leaves_the_layers_own_weight_gradient_unclipped(kata, device):
    """A full backward hook cannot clip its own layer's weight gradient (the seed's claim is wrong)."""
    first, second, x, r, reference = two_layers(device)
    hooked_backward(kata, first, second, x, r, 1.0)
    plain = reference["second.weight"]
    assert_close(
        second.weight.grad, plain, "the hooked layer's own weight.grad",
        why=(
            f"grad_input holds only the gradient with respect to the module's inputs; the module's weight gradient "
            f"(norm {float(plain.norm()):.3g} here) is not in it and must stay the plain, unclipped weight gradient. "
            "Leave module.weight.grad alone; to clip weight gradients use clip_parameter_gradients."
        ),
    )


def test_registered_hook_handles_an_input_that_needs_no_gradient(kata, device):
    """On a module called as m(x, 3.0, y) the hook gets a None entry and autograd accepts its return value."""
    module = ScaleAdd()
    hook = make_hook(kata, 1.0)
    attempt(module.register_full_backward_hook, hook, doing="register_full_backward_hook(hook)")
    x = torch.randn(5, 4, device=device, requires_grad=True)
    y = torch.randn(5, 4, device=device, requires_grad=True)
    r = 10 * torch.randn(5, 4, device=device)
    out = attempt(module, x, 3.0, y, doing="forward of x * 3.0 + y")
    attempt(
        (out * r).sum().backward, doing="backward through a module whose grad_input is (gx, None, gy)",
        why="The hook must return as many entries as grad_input, with None entries kept in place.",
    )
    assert_close(x.grad, clipped(3.0 * r, 1.0), "x.grad", why=RESCALE)
    assert_close(y.grad, clipped(r, 1.0), "y.grad", why=RESCALE)


# clip_parameter_gradients: tensor hooks on the parameters.


def test_clip_parameter_gradients_rejects_a_non_positive_max_norm(kata, device):
    """clip_parameter_gradients(model, 0.0) and (model, -1.0) raise ValueError and leave no hook behind."""
    model = make_model(device)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    for max_norm in (0.0, -1.0):
        assert_rejects(functools.partial(kata.clip_parameter_gradients, model), max_norm, "clip_parameter_gradients")
    backward(model, x, r)
    for name, grad in current_grads(model).items():
        assert_close(
            grad, plain[name], f"{name}.grad after a rejected call",
            why="The call raised, yet hooks were left registered: validate max_norm before registering anything.",
        )


def test_clip_parameter_gradients_returns_one_handle_per_trainable_parameter(kata, device):
    """It returns a list holding one RemovableHandle per parameter that requires grad."""
    model = make_model(device)
    handles = clip_parameters(kata, model, 1.0)
    count = len(list(model.parameters()))
    if not isinstance(handles, list) or len(handles) != count:
        got = f"{len(handles)} entries" if isinstance(handles, list) else f"a {type(handles).__name__}"
        fail(
            f"clip_parameter_gradients returned {got}; expected a list of {count} handles, one per parameter "
            "(p.register_hook(fn) returns the handle): tensor hooks are what clip future backward passes."
        )
    for handle in handles:
        if not isinstance(handle, RemovableHandle):
            fail(f"the returned list holds a {type(handle).__name__}; return the RemovableHandle from p.register_hook.")


def test_parameter_gradients_are_rescaled_to_norm_max_norm(kata, device):
    """After registration, each parameter's gradient is its plain gradient rescaled to norm max_norm."""
    model = make_model(device)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    clip_parameters(kata, model, 1.0)
    backward(model, x, r)
    for name, grad in current_grads(model).items():
        assert_close(
            grad, clipped(plain[name], 1.0), f"{name}.grad (plain norm {float(plain[name].norm()):.3g})",
            why=f"Each parameter's gradient must be clipped to max_norm=1.0, direction kept. {RESCALE}",
        )


def test_parameter_gradients_within_max_norm_are_untouched(kata, device):
    """With a max_norm larger than every gradient norm, the gradients are the plain ones."""
    model = make_model(device)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    clip_parameters(kata, model, 1e4)
    backward(model, x, r)
    for name, grad in current_grads(model).items():
        assert_close(
            grad, plain[name], f"{name}.grad with max_norm=1e4",
            why="Gradients within max_norm must be left untouched: clipping only shrinks gradients that are too long.",
        )


def test_parameter_gradients_are_clipped_on_their_own(kata, device):
    """Each parameter gets the whole max_norm: a parameter within it is untouched even when others are clipped."""
    model = make_model(device)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    norms = {name: float(g.norm()) for name, g in plain.items()}
    ordered = sorted(norms.values())
    max_norm = (ordered[1] * ordered[2]) ** 0.5  # the two smallest norms fit within it, the two largest do not
    clip_parameters(kata, model, max_norm)
    backward(model, x, r)
    for name, grad in current_grads(model).items():
        assert_close(
            grad, clipped(plain[name], max_norm),
            f"{name}.grad (plain norm {norms[name]:.3g}, max_norm {max_norm:.3g})",
            why=(
                "Each parameter is clipped on its own: one within max_norm is untouched, a longer one gets norm "
                "max_norm. Do not split the budget between parameters or clip their global norm."
            ),
        )


def test_frozen_parameters_are_skipped(kata, device):
    """Parameters with requires_grad=False get no hook and no handle; the others are still clipped."""
    model = make_model(device)
    model[0].weight.requires_grad_(False)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    handles = attempt(
        kata.clip_parameter_gradients, model, 1.0, doing="clip_parameter_gradients on a model with a frozen weight",
        why="Skip frozen parameters (requires_grad=False): they get no gradient, and register_hook refuses them.",
    )
    if not isinstance(handles, list) or len(handles) != 3:
        fail(
            f"expected 3 handles for a model with 3 trainable parameters and 1 frozen one, got "
            f"{len(handles) if isinstance(handles, list) else type(handles).__name__}: skip frozen parameters."
        )
    backward(model, x, r)
    if model[0].weight.grad is not None:
        fail("the frozen weight received a gradient: frozen parameters must be skipped.")
    for name, grad in current_grads(model).items():
        if name != "0.weight":
            assert_close(grad, clipped(plain[name], 1.0), f"{name}.grad next to a frozen weight", why=RESCALE)


def test_parameter_hooks_clip_every_future_backward_pass(kata, device):
    """Registered before any backward, the hooks clip the gradients of each later backward pass."""
    model = make_model(device)
    batches = [make_batch(device) for _ in range(2)]
    plain = [plain_grads(model, x, r) for x, r in batches]
    clip_parameters(kata, model, 1.0)
    for step, (x, r) in enumerate(batches, start=1):
        backward(model, x, r)
        for name, grad in current_grads(model).items():
            if grad is None:
                fail(f"{name}.grad is None after backward pass {step}.")
            assert_close(
                grad, clipped(plain[step - 1][name], 1.0), f"{name}.grad in backward pass {step}",
                why=(
                    "clip_parameter_gradients must clip every future backward pass: register a tensor hook "
                    "(p.register_hook) instead of clipping the .grad that exists at call time."
                ),
            )
        model.zero_grad(set_to_none=True)


def test_parameter_hooks_clip_each_pass_before_accumulation(kata, device):
    """Two backward passes without zero_grad accumulate two clipped gradients (tensor hooks run before .grad)."""
    model = make_model(device)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    clip_parameters(kata, model, 1.0)
    backward(model, x, r)
    backward(model, x, r)
    for name, grad in current_grads(model).items():
        assert_close(
            grad, 2 * clipped(plain[name], 1.0), f"{name}.grad after two accumulated passes",
            why=(
                "A tensor hook (p.register_hook) clips each pass's gradient before it is accumulated into .grad; "
                "the sum of two clipped gradients has norm 2 * max_norm here."
            ),
        )


def test_removing_the_handles_restores_plain_gradients(kata, device):
    """After handle.remove() on every returned handle, backward gives the plain, unclipped gradients."""
    model = make_model(device)
    x, r = make_batch(device)
    plain = plain_grads(model, x, r)
    handles = clip_parameters(kata, model, 1.0)
    for handle in handles:
        attempt(handle.remove, doing="handle.remove()", why="Return the handles that p.register_hook gives you.")
    backward(model, x, r)
    for name, grad in current_grads(model).items():
        assert_close(
            grad, plain[name], f"{name}.grad after removing every handle",
            why="Removing the returned handles must remove the hooks: return the handles of the hooks you registered.",
        )
