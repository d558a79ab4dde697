"""Kata 02: LearnedNorm, a learned normalisation. Each spec checks one behaviour."""

import torch

from kata_runner.asserts import (
    assert_close,
    assert_equal,
    assert_keys,
    assert_parameter,
    assert_shape,
    attempt,
    fail,
)

FORMULA = "Expected (x - learned_mean) / (learned_std + eps)."
NAMES = (
    "The parameter names are part of the API: they become the state_dict keys that checkpoints are loaded by."
)
PER_FEATURE = (
    "One value per feature: shape (num_features,), so every feature gets its own shift and scale "
    "(a single scalar would make all features share them)."
)


def make(kata, device, *args, **kwargs):
    """Build LearnedNorm(*args, **kwargs) and move it to `device`."""
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    norm = attempt(kata.LearnedNorm, *args, doing=f"LearnedNorm({shown})", **kwargs)
    return attempt(norm.to, device, doing=f"LearnedNorm(...).to({device.type!r})")


def tensor_attr(norm, name):
    """The tensor stored as `name`, Parameter or not; fails with a readable message when missing."""
    value = getattr(norm, name, None)
    if not torch.is_tensor(value):
        fail(f"LearnedNorm has no tensor attribute '{name}' (found {type(value).__name__}). {NAMES}")
    return value


def set_values(norm, mean, std):
    """Overwrite learned_mean and learned_std in place, without recording the copy in autograd."""
    with torch.no_grad():
        for name, value in (("learned_mean", mean), ("learned_std", std)):
            target = tensor_attr(norm, name)
            doing = f"copying a {tuple(value.shape)} tensor into {name}"
            attempt(target.copy_, value, doing=doing, why=PER_FEATURE)


def run(norm, x, why=FORMULA):
    return attempt(norm, x, doing=f"forward on an input of shape {tuple(x.shape)}", why=why)


def close_to(out, expected):
    """Whether `out` is a tensor of the expected shape whose values are near `expected` (for diagnoses)."""
    return (
        torch.is_tensor(out)
        and out.shape == expected.shape
        and bool(torch.allclose(out.detach().float(), expected, atol=1e-4))
    )


def test_learned_mean_is_a_parameter_with_one_value_per_feature(kata, device):
    """learned_mean is a registered nn.Parameter of shape (num_features,)."""
    norm = make(kata, device, 5)
    mean = assert_parameter(norm, "learned_mean", why=NAMES)
    assert_shape(mean, (5,), "learned_mean of LearnedNorm(5)", why=PER_FEATURE)


def test_learned_std_is_a_parameter_with_one_value_per_feature(kata, device):
    """learned_std is a registered nn.Parameter of shape (num_features,)."""
    norm = make(kata, device, 5)
    std = assert_parameter(norm, "learned_std", why=NAMES)
    assert_shape(std, (5,), "learned_std of LearnedNorm(5)", why=PER_FEATURE)


def test_learned_mean_starts_at_zero_and_learned_std_at_one(kata, device):
    """A fresh layer has learned_mean all zeros and learned_std all ones, so it starts as the identity."""
    norm = make(kata, device, 4)
    why = "Start from learned_mean = zeros and learned_std = ones: a fresh layer then leaves its input unchanged."
    mean, std = tensor_attr(norm, "learned_mean"), tensor_attr(norm, "learned_std")
    assert_equal(mean.detach(), torch.zeros(4, device=mean.device), "the initial learned_mean", why=why)
    assert_equal(std.detach(), torch.ones(4, device=std.device), "the initial learned_std", why=why)


def test_eps_argument_is_stored_as_self_eps(kata, device):
    """The eps argument is kept as norm.eps, and defaults to 1e-5."""
    for kwargs, wanted in (({"eps": 0.25}, 0.25), ({}, 1e-5)):
        got = getattr(make(kata, device, 3, **kwargs), "eps", None)
        if got != wanted:
            call = f"LearnedNorm(3{', eps=0.25' if kwargs else ''})"
            fail(
                f"{call}.eps is {got!r}, expected {wanted!r}: the eps argument is ignored or not stored. "
                "Keep it as self.eps (default 1e-5) and use it in forward."
            )


def test_state_dict_keys_are_exactly_learned_mean_and_learned_std(kata, device):
    """state_dict() holds exactly learned_mean and learned_std, nothing else."""
    norm = make(kata, device, 3)
    state = attempt(norm.state_dict, doing="state_dict()")
    assert_keys(state, ["learned_mean", "learned_std"], "state_dict keys", why=NAMES)


def test_forward_subtracts_learned_mean_per_feature(kata, device):
    """With learned_std at one, forward(x) is x minus learned_mean, feature by feature."""
    norm = make(kata, device, 3)
    mean = torch.tensor([1.0, -2.0, 3.0], device=device)
    set_values(norm, mean, torch.ones(3, device=device))
    x = torch.randn(6, 3, device=device)
    assert_close(
        run(norm, x), (x - mean) / (1 + 1e-5), "forward(x) with learned_mean = [1, -2, 3], learned_std = 1",
        rtol=1e-4, atol=1e-4,  # loose enough that where eps goes does not matter here
        why=f"Subtract learned_mean, one value per feature, broadcast over the last dimension. {FORMULA}",
    )


def test_forward_divides_by_learned_std_per_feature(kata, device):
    """With learned_mean at zero and learned_std = [0.5, 2, 4], forward(x) is x / (learned_std + eps)."""
    norm = make(kata, device, 3)
    std = torch.tensor([0.5, 2.0, 4.0], device=device)
    set_values(norm, torch.zeros(3, device=device), std)
    x = torch.randn(6, 3, device=device)
    out = run(norm, x)
    if close_to(out, x * (std + 1e-5)):
        fail(
            "forward multiplies by learned_std instead of dividing by it: the mistake is invisible while "
            f"learned_std is 1, but with learned_std = [0.5, 2, 4] it scales the wrong way. {FORMULA}"
        )
    assert_close(
        out, x / (std + 1e-5), "forward(x) with learned_mean = 0 and learned_std = [0.5, 2, 4]",
        rtol=1e-4, atol=1e-4,  # loose enough that where eps goes does not matter here
        why=f"Divide by (learned_std + eps), per feature; do not multiply. {FORMULA}",
    )


def test_eps_is_added_to_learned_std_inside_the_denominator(kata, device):
    """With eps=0.5, learned_mean 0 and learned_std 1, forward(x) is x / 1.5: eps is in the denominator."""
    norm = make(kata, device, 3, eps=0.5)
    set_values(norm, torch.zeros(3, device=device), torch.ones(3, device=device))
    x = torch.randn(6, 3, device=device)
    out = run(norm, x)
    why = (
        "eps belongs inside the denominator, (learned_std + eps), where it keeps the division finite as "
        "learned_std approaches 0."
    )
    if close_to(out, x + 0.5):
        fail(f"forward adds eps outside the division, (x - mean) / std + eps, not inside the denominator. {why}")
    if close_to(out, x):
        fail(f"LearnedNorm(3, eps=0.5) divides by learned_std alone: the eps argument is ignored in forward. {why}")
    assert_close(out, x / 1.5, "forward(x) with eps=0.5, learned_mean = 0, learned_std = 1", why=why)


def test_forward_matches_the_formula_for_any_leading_shape(kata, device):
    """forward works on (*, num_features) inputs: a single vector and a 3-D batch alike."""
    norm = make(kata, device, 4, eps=0.1)
    mean = torch.randn(4, device=device)
    std = torch.rand(4, device=device) + 0.5
    set_values(norm, mean, std)
    why = f"{FORMULA} Broadcasting over the last dimension handles any leading shape."
    for shape in [(4,), (2, 5, 4)]:
        x = torch.randn(*shape, device=device)
        assert_close(run(norm, x, why=why), (x - mean) / (std + 0.1), f"forward on an input of shape {shape}", why=why)


def test_gradients_reach_learned_mean_and_learned_std(kata, device):
    """Backward fills learned_mean.grad and learned_std.grad with the analytical gradients."""
    norm = make(kata, device, 3, eps=0.1)
    mean = torch.tensor([0.5, -1.0, 2.0], device=device)
    std = torch.tensor([1.5, 0.5, 2.0], device=device)
    set_values(norm, mean, std)
    x = torch.randn(2, 4, 3, device=device)
    r = torch.randn(2, 4, 3, device=device)
    out = run(norm, x)
    if not (torch.is_tensor(out) and out.requires_grad):
        fail(
            "forward's output does not require grad: neither learned_mean nor learned_std takes part in "
            "autograd, so nothing can learn. They must be nn.Parameters used in forward, not buffers or "
            "detached tensors."
        )
    attempt(lambda: (out * r).sum().backward(), doing="backward of (forward(x) * r).sum()")
    denom = std + 0.1
    expected = {
        "learned_mean": -(r / denom).sum(dim=(0, 1)),
        "learned_std": -(r * (x - mean) / denom**2).sum(dim=(0, 1)),
    }
    for name, grad_expected in expected.items():
        grad = getattr(tensor_attr(norm, name), "grad", None)
        if grad is None:
            fail(
                f"{name}.grad is None after backward: no gradient reaches {name}, so an optimizer never "
                "moves it. It must not be detached (no .detach(), .data or torch.no_grad() in forward)."
            )
        assert_close(grad, grad_expected, f"{name}.grad for loss = (forward(x) * r).sum()", why=FORMULA)


def test_gradient_descent_steps_move_the_parameters_toward_the_data_statistics(kata, device):
    """Fifty SGD steps on the Gaussian negative log-likelihood pull both parameters toward the data's statistics."""
    norm = make(kata, device, 3)
    params = list(attempt(norm.parameters, doing="parameters()"))
    if not params:
        fail(
            "LearnedNorm.parameters() is empty, so an optimizer has nothing to learn: learned_mean and "
            "learned_std must be nn.Parameters (a buffer is saved but never trained)."
        )
    for name in ("learned_mean", "learned_std"):
        assert_shape(tensor_attr(norm, name), (3,), f"{name} of LearnedNorm(3)", why=PER_FEATURE)
    data_mean = torch.tensor([2.0, -1.0, 0.5], device=device)
    data_std = torch.tensor([3.0, 0.5, 1.5], device=device)
    x = torch.randn(512, 3, device=device) * data_std + data_mean
    target = {"learned_mean": x.mean(0), "learned_std": x.std(0, unbiased=False)}
    start = {name: tensor_attr(norm, name).detach().clone() for name in target}
    # Plain SGD written out (what torch.optim.SGD's step does), over exactly what parameters() returns.
    for _ in range(50):
        for p in params:
            p.grad = None
        out = run(norm, x)
        # The negative log-likelihood of x under N(learned_mean, learned_std^2), up to a constant.
        loss = (0.5 * out.pow(2) + torch.log(tensor_attr(norm, "learned_std") + 1e-5)).mean(0).sum()
        attempt(loss.backward, doing="backward of the Gaussian negative log-likelihood")
        with torch.no_grad():
            for p in params:
                if p.grad is not None:
                    p -= 0.2 * p.grad
    for name, wanted in target.items():
        end = tensor_attr(norm, name).detach().cpu()
        before = (start[name].cpu() - wanted.cpu()).abs()
        after = (end - wanted.cpu()).abs()
        if bool((after > 0.5 * before).any()):
            i = int((after - 0.5 * before).argmax())
            stats = {k: [round(v, 3) for v in t.tolist()] for k, t in target.items()}
            fail(
                f"after 50 SGD steps fitting data with mean {stats['learned_mean']} and std "
                f"{stats['learned_std']}, {name}[{i}] went from {float(start[name][i]):.4g} to "
                f"{float(end[i]):.4g} instead of toward {float(wanted[i]):.4g}: the parameters do not learn. "
                "Gradients must reach both parameters (nothing detached), and forward must compute "
                "(x - learned_mean) / (learned_std + eps)."
            )
