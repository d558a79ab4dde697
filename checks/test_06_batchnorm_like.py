"""Kata 06: BatchNormLike, a BatchNorm of your own with buffers. Each spec checks one behaviour."""

import torch
from torch import nn

from kata_runner.asserts import (
    assert_buffer,
    assert_close,
    assert_equal,
    assert_keys,
    assert_no_history,
    assert_on_device,
    assert_parameter,
    assert_shape,
    attempt,
    fail,
)

C = 5
TOL = {"rtol": 1e-4, "atol": 1e-5}  # against nn.BatchNorm1d, whose kernels (cudnn on a GPU) sum differently
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
COUNTER = (
    "num_batches_tracked is an integer counter (torch.long), as in BatchNorm1d: "
    "register torch.tensor(0, dtype=torch.long) and add 1 per training step."
)
TRAIN = (
    "In training, normalise with the batch mean and the biased batch variance (divide by N): "
    "(x - mean) / sqrt(var + eps) * weight + bias."
)
EVAL = "In eval mode normalise with the running statistics (running_mean, running_var), not the batch's own."
RUNNING = (
    "Update running = (1 - momentum) * running + momentum * batch_statistic, with the unbiased "
    "variance (divide by N - 1) for running_var, as BatchNorm1d does."
)
HISTORY = (
    "The running statistics are bookkeeping, not part of the graph: a buffer with a grad_fn keeps every "
    "past batch's graph alive in memory. Update them under torch.no_grad() or from detached statistics."
)
SAME_KEYS = (
    "Use BatchNorm1d's names (weight, bias, running_mean, running_var, num_batches_tracked) "
    "so state_dicts load both ways."
)


def make(kata, device, *args, **kwargs):
    """Build BatchNormLike on the cpu, then .to(device): the API has no device argument."""
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    layer = attempt(kata.BatchNormLike, *args, doing=f"BatchNormLike({shown})", **kwargs)
    return attempt(layer.to, device, doing=f"BatchNormLike.to({device.type!r})")


def reference(device, eps=1e-5, momentum=0.1):
    return nn.BatchNorm1d(C, eps=eps, momentum=momentum, device=device)


def tensor_attr(layer, name):
    value = getattr(layer, name, None)
    if not torch.is_tensor(value):
        fail(f"BatchNormLike has no tensor attribute '{name}' (got {type(value).__name__}). {SAME_KEYS}")
    return value


def set_state(layer, **values):
    """Overwrite tensors of the layer in place (weight, bias, running_mean, ...)."""
    with torch.no_grad():
        for name, value in values.items():
            attempt(
                tensor_attr(layer, name).copy_,
                value,
                doing=f"copying a value of shape {tuple(value.shape)} into {name}",
            )


def pair(kata, device, eps=1e-5, momentum=0.1):
    """BatchNormLike and nn.BatchNorm1d with the same random weight and bias."""
    layer = make(kata, device, C, eps=eps, momentum=momentum)
    bn = reference(device, eps, momentum)
    weight, bias = torch.randn(C, device=device), torch.randn(C, device=device)
    set_state(layer, weight=weight, bias=bias)
    set_state(bn, weight=weight, bias=bias)
    return layer, bn


def forward(layer, x, doing, why=""):
    return attempt(layer, x, doing=doing, why=why)


def close(actual, expected):
    """Quiet comparison, used to recognise a specific mistake before the verdict."""
    if not torch.is_tensor(actual) or actual.shape != expected.shape:
        return False
    a = actual.detach().to("cpu", torch.float64)
    e = expected.detach().to("cpu", torch.float64)
    return bool(torch.allclose(a, e, **TOL))


def batch(n, device, scale=2.0, shift=1.0):
    return torch.randn(n, C, device=device) * scale + shift


def test_weight_and_bias_are_parameters_of_ones_and_zeros(kata, device):
    """weight (ones) and bias (zeros) are registered nn.Parameters of shape (num_features,)."""
    layer = make(kata, device, C)
    weight = assert_parameter(layer, "weight")
    bias = assert_parameter(layer, "bias")
    why = "BatchNorm1d starts as the identity map: weight = 1, bias = 0."
    assert_equal(weight.detach(), torch.ones(C, device=device), "weight at initialisation", why=why)
    assert_equal(bias.detach(), torch.zeros(C, device=device), "bias at initialisation", why=why)


def test_parameters_are_exactly_weight_and_bias(kata, device):
    """named_parameters() holds weight and bias only: the running statistics are not learned."""
    layer = make(kata, device, C)
    assert_keys(
        dict(layer.named_parameters()),
        ["weight", "bias"],
        "named_parameters()",
        why="Running statistics are measured, not learned: as nn.Parameters an optimizer given "
        "model.parameters() would update them. Register them as buffers.",
    )


def test_running_mean_and_running_var_are_buffers_of_zeros_and_ones(kata, device):
    """running_mean (zeros) and running_var (ones) are registered buffers of shape (num_features,)."""
    layer = make(kata, device, C)
    mean = assert_buffer(layer, "running_mean")
    var = assert_buffer(layer, "running_var")
    assert_equal(mean, torch.zeros(C, device=device), "running_mean at initialisation")
    assert_equal(var, torch.ones(C, device=device), "running_var at initialisation")


def test_num_batches_tracked_is_an_int64_scalar_buffer_starting_at_zero(kata, device):
    """num_batches_tracked is a registered int64 scalar buffer that starts at 0."""
    layer = make(kata, device, C)
    count = assert_buffer(layer, "num_batches_tracked")
    assert_equal(
        count,
        torch.tensor(0, dtype=torch.long, device=device),
        "num_batches_tracked at initialisation",
        why=COUNTER,
    )


def test_training_output_matches_batchnorm1d(kata, device):
    """In training mode the output equals nn.BatchNorm1d's: batch mean and biased batch variance."""
    layer, bn = pair(kata, device)
    x = batch(4, device)
    out = forward(layer, x, "a training-mode forward on a (4, 5) batch")
    expected = bn(x).detach()
    weight, bias = bn.weight.detach(), bn.bias.detach()
    with_unbiased = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=True) + bn.eps) * weight + bias
    if not close(out, expected) and close(out, with_unbiased):
        fail(
            "the training output was normalised with the unbiased variance (divide by N - 1); BatchNorm1d "
            "normalises with the biased batch variance, x.var(dim=0, unbiased=False) (divide by N). "
            "Only the running estimate uses the unbiased one."
        )
    assert_close(out, expected, "training-mode output", why=TRAIN, **TOL)


def test_eval_output_normalises_with_the_running_statistics(kata, device):
    """In eval mode the output uses running_mean and running_var, exactly as nn.BatchNorm1d's does."""
    layer, bn = pair(kata, device)
    stats = {"running_mean": torch.randn(C, device=device), "running_var": torch.rand(C, device=device) + 0.5}
    set_state(layer, **stats)
    set_state(bn, **stats)
    layer.eval()
    bn.eval()
    x = batch(6, device)
    out = forward(layer, x, "an eval-mode forward on a (6, 5) batch")
    expected = bn(x).detach()
    weight, bias = bn.weight.detach(), bn.bias.detach()
    with_batch_stats = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + bn.eps) * weight + bias
    if not close(out, expected) and close(out, with_batch_stats):
        fail(
            "the eval-mode output was normalised with this batch's own statistics. "
            + EVAL
            + " Otherwise one sample's prediction depends on the rest of its batch."
        )
    assert_close(out, expected, "eval-mode output", why=EVAL, **TOL)


def test_eval_mode_leaves_the_buffers_unchanged(kata, device):
    """An eval-mode forward reads the running statistics and changes no buffer."""
    layer = make(kata, device, C)
    layer.eval()
    forward(layer, batch(6, device), "an eval-mode forward on a (6, 5) batch")
    why = "In eval mode the running statistics are only read; they change in training mode only."
    assert_equal(
        tensor_attr(layer, "running_mean"),
        torch.zeros(C, device=device),
        "running_mean after an eval forward",
        why=why,
    )
    assert_equal(
        tensor_attr(layer, "running_var"),
        torch.ones(C, device=device),
        "running_var after an eval forward",
        why=why,
    )
    count = tensor_attr(layer, "num_batches_tracked")
    if int(count.cpu()) != 0:
        fail(f"num_batches_tracked is {int(count.cpu())} after an eval forward, expected 0: {why}")


def test_running_mean_moves_a_momentum_fraction_towards_the_batch_mean(kata, device):
    """A training step sets running_mean = (1 - momentum) * running_mean + momentum * batch mean."""
    layer = make(kata, device, C)
    start = torch.randn(C, device=device)
    set_state(layer, running_mean=start)
    x = batch(8, device)
    forward(layer, x, "a training-mode forward on an (8, 5) batch")
    got = tensor_attr(layer, "running_mean")
    expected = 0.9 * start + 0.1 * x.mean(0)
    if not close(got, expected) and close(got, 0.1 * start + 0.9 * x.mean(0)):
        fail(
            "momentum is applied the wrong way round: with momentum=0.1 the running mean moved 90% of "
            "the way to the batch mean. momentum is the weight of the NEW batch: running = (1 - momentum) * running "
            "+ momentum * batch_mean (the opposite of the optimizer's momentum convention)."
        )
    assert_close(got, expected, "running_mean after one training step", why=RUNNING, **TOL)


def test_running_var_is_updated_with_the_unbiased_batch_variance(kata, device):
    """A training step sets running_var = (1 - momentum) * running_var + momentum * unbiased variance."""
    layer = make(kata, device, C)
    x = batch(4, device)
    forward(layer, x, "a training-mode forward on a (4, 5) batch")
    got = tensor_attr(layer, "running_var")
    expected = 0.9 * torch.ones(C, device=device) + 0.1 * x.var(0, unbiased=True)
    if not close(got, expected) and close(got, 0.9 + 0.1 * x.var(0, unbiased=False)):
        fail(
            "running_var was updated with the biased batch variance (divide by N). The running estimate uses "
            "the unbiased variance (divide by N - 1), x.var(dim=0, unbiased=True), as BatchNorm1d does; "
            "only the normalisation uses the biased one."
        )
    assert_close(got, expected, "running_var after one training step", why=RUNNING, **TOL)


def test_num_batches_tracked_counts_training_steps_only(kata, device):
    """num_batches_tracked goes up by one per training forward, stays int64, and eval does not count."""
    layer = make(kata, device, C)
    for step in range(3):
        forward(layer, batch(4, device), f"training-mode forward number {step + 1}")
    layer.eval()
    forward(layer, batch(4, device), "an eval-mode forward after three training steps")
    got = tensor_attr(layer, "num_batches_tracked")
    assert_equal(
        got,
        torch.tensor(3, dtype=torch.long, device=device),
        "num_batches_tracked after 3 training steps and 1 eval step",
        why=COUNTER,
    )


def test_several_batches_match_batchnorm1d_in_training_and_eval(kata, device):
    """Over training batches of different sizes outputs and buffers track nn.BatchNorm1d; eval agrees."""
    layer, bn = pair(kata, device)
    why = "Over several batches the outputs and running statistics must track nn.BatchNorm1d's. " + RUNNING
    for step, n in enumerate((8, 3, 16)):
        x = batch(n, device, scale=1.0 + step, shift=float(step))
        out = forward(layer, x, f"training step {step + 1} on a ({n}, 5) batch")
        assert_close(out, bn(x).detach(), f"training output at step {step + 1}", why=TRAIN, **TOL)
    for name in ("running_mean", "running_var"):
        assert_close(
            tensor_attr(layer, name), getattr(bn, name), f"{name} after 3 training steps", why=why, **TOL
        )
    layer.eval()
    bn.eval()
    x = batch(6, device)
    out = forward(layer, x, "an eval-mode forward after 3 training steps")
    assert_close(out, bn(x).detach(), "eval output after 3 training steps", why=EVAL, **TOL)


def test_non_default_eps_and_momentum_are_honoured(kata, device):
    """BatchNormLike(C, eps=1e-3, momentum=0.3) matches nn.BatchNorm1d(C, eps=1e-3, momentum=0.3)."""
    layer, bn = pair(kata, device, eps=1e-3, momentum=0.3)
    why = (
        "Use the eps and momentum given to the constructor, not the defaults: "
        "(x - mean) / sqrt(var + eps), running = (1 - momentum) * running + momentum * batch_statistic."
    )
    for step in range(2):
        x = batch(6, device, scale=0.5)
        out = forward(layer, x, f"training step {step + 1} with eps=1e-3, momentum=0.3")
        assert_close(out, bn(x).detach(), f"training output at step {step + 1} with eps=1e-3", why=why, **TOL)
    for name in ("running_mean", "running_var"):
        assert_close(
            tensor_attr(layer, name),
            getattr(bn, name),
            f"{name} after 2 steps with momentum=0.3",
            why=why,
            **TOL,
        )
    layer.eval()
    bn.eval()
    x = batch(6, device)
    out = forward(layer, x, "an eval-mode forward with eps=1e-3")
    assert_close(out, bn(x).detach(), "eval output with eps=1e-3", why=why, **TOL)


def test_eps_is_added_to_the_variance_inside_the_square_root(kata, device):
    """With eps=0.5 on low-variance input the output is (x - mean) / sqrt(var + eps), as in nn.BatchNorm1d."""
    layer, bn = pair(kata, device, eps=0.5)
    x = batch(6, device, scale=0.01, shift=3.0)
    out = forward(layer, x, "a training-mode forward with eps=0.5 on low-variance input")
    expected = bn(x).detach()
    weight, bias = bn.weight.detach(), bn.bias.detach()
    centred = x - x.mean(0)
    after_sqrt = centred / (torch.sqrt(x.var(0, unbiased=False)) + 0.5) * weight + bias
    why = "eps belongs inside the square root, sqrt(var + eps), where it keeps the divisor away from zero."
    if not close(out, expected) and close(out, after_sqrt):
        fail("eps is added after the square root: the output is (x - mean) / (sqrt(var) + eps). " + why)
    assert_close(out, expected, "training output with eps=0.5 on low-variance input", why=why, **TOL)


def test_buffers_carry_no_autograd_history_after_a_training_step(kata, device):
    """After a training forward on an input that requires grad, no buffer has a grad_fn or requires grad."""
    layer = make(kata, device, C)
    x = batch(8, device).requires_grad_(True)
    forward(layer, x, "a training-mode forward on an input that requires grad")
    for name in BUFFERS:
        assert_no_history(tensor_attr(layer, name), f"{name} after a training step", why=HISTORY)


def test_gradients_match_batchnorm1d_through_the_batch_statistics(kata, device):
    """Backward gives nn.BatchNorm1d's input, weight and bias gradients: they flow through mean and var."""
    layer, bn = pair(kata, device)
    x = batch(6, device)
    mine, theirs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    r = torch.randn(6, C, device=device)
    out = forward(layer, mine, "a training-mode forward on an input that requires grad")
    attempt(lambda: (out * r).sum().backward(), doing="backward through your training-mode output")
    (bn(theirs) * r).sum().backward()
    why = (
        "In training the batch mean and variance are part of the computation, so gradients must flow "
        "through them: detach only the running-statistics update, never the normalisation."
    )
    for name, got, expected in [
        ("x.grad", mine.grad, theirs.grad),
        ("weight.grad", getattr(layer.weight, "grad", None), bn.weight.grad),
        ("bias.grad", getattr(layer.bias, "grad", None), bn.bias.grad),
    ]:
        if got is None:
            fail(f"{name} is None after backward: gradients do not reach it. {why}")
        assert_close(got, expected, f"{name} for loss = (output * r).sum()", why=why, **TOL)


def test_state_dict_has_batchnorm1d_keys_and_loads_both_ways(kata, device):
    """state_dict() has exactly BatchNorm1d's keys, loads into it and back, and both then agree in eval."""
    layer, bn = pair(kata, device)
    forward(layer, batch(8, device), "a training-mode forward on an (8, 5) batch")
    why = "Registered parameters and buffers are what state_dict() saves. " + SAME_KEYS
    assert_keys(layer.state_dict(), bn.state_dict().keys(), "state_dict() keys", why=why)
    attempt(bn.load_state_dict, layer.state_dict(), doing="nn.BatchNorm1d.load_state_dict(yours)", why=why)
    layer.eval()
    bn.eval()
    x = batch(6, device)
    out = forward(layer, x, "an eval-mode forward")
    assert_close(
        out, bn(x).detach(), "eval output after loading your state_dict into BatchNorm1d", why=why, **TOL
    )

    other = reference(device)
    other.train()
    for n in (4, 7):
        other(batch(n, device, scale=3.0))
    other.eval()
    attempt(
        layer.load_state_dict,
        other.state_dict(),
        doing="BatchNormLike.load_state_dict(BatchNorm1d's)",
        why=why,
    )
    out = forward(layer, x, "an eval-mode forward after loading BatchNorm1d's state_dict")
    assert_close(out, other(x).detach(), "eval output after loading BatchNorm1d's state_dict", why=why, **TOL)
    assert_equal(
        tensor_attr(layer, "num_batches_tracked"),
        other.num_batches_tracked,
        "num_batches_tracked after loading BatchNorm1d's state_dict",
        why=COUNTER,
    )


def test_buffers_follow_to_device_and_double(kata, device):
    """.to(device).double() moves the buffers to the device and casts running_mean/running_var to float64."""
    layer = make(kata, device, C)
    layer = attempt(layer.double, doing="BatchNormLike.double()")
    why = (
        "Only registered buffers (and parameters) follow .to() and .double(); "
        "a plain tensor attribute stays behind."
    )
    for name in BUFFERS:
        assert_on_device(tensor_attr(layer, name), device, f"{name} after .to({device.type!r})")
    for name in ("running_mean", "running_var"):
        dtype = tensor_attr(layer, name).dtype
        if dtype != torch.float64:
            fail(f"{name} is still {dtype} after .double(): it was not cast. {why}")
    layer.eval()
    x = batch(3, device).double()
    out = forward(layer, x, "an eval-mode forward in float64 after .double()", why=why)
    assert_shape(out, (3, C), "eval output in float64")
    if out.dtype != torch.float64:
        fail(f"the eval output after .double() has dtype {out.dtype}, expected torch.float64. {why}")


def test_num_batches_tracked_stays_int64_under_half_and_double(kata, device):
    """.half() and .double() cast the floating-point buffers but leave the int64 counter int64."""
    layer = make(kata, device, C)
    why = (
        ".half() and .double() cast only floating-point tensors, so an integer counter keeps its dtype; "
        "a float16 counter would stop counting at 2048. " + COUNTER
    )
    for cast in ("half", "double"):
        layer = attempt(getattr(layer, cast), doing=f"BatchNormLike.{cast}()")
        dtype = tensor_attr(layer, "num_batches_tracked").dtype
        if dtype != torch.long:
            fail(f"num_batches_tracked has dtype {dtype} after .{cast}(), expected torch.int64. {why}")


def test_training_on_a_single_sample_raises_value_error(kata, device):
    """A training forward on a batch of one sample raises ValueError, as nn.BatchNorm1d does."""
    layer = make(kata, device, C)
    x = batch(1, device)
    why = (
        "The variance of a single value is undefined (the unbiased one divides by N - 1 = 0, and would "
        "put nan into running_var); BatchNorm1d raises ValueError('Expected more than 1 value per "
        "channel when training')."
    )
    try:
        layer(x)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other error is the wrong kind of refusal
        fail(f"training on a (1, 5) batch raised {type(exc).__name__} instead of ValueError. {why}")
    fail(f"training on a (1, 5) batch did not raise ValueError. {why}")


def test_eval_accepts_a_single_sample(kata, device):
    """An eval-mode forward on one sample works: it uses the running statistics, so N = 1 is fine."""
    layer, bn = pair(kata, device)
    layer.eval()
    bn.eval()
    x = batch(1, device)
    why = "In eval mode nothing is estimated from the batch, so a batch of one sample is valid. " + EVAL
    out = forward(layer, x, "an eval-mode forward on a (1, 5) batch", why=why)
    assert_close(out, bn(x).detach(), "eval output on a single sample", why=why, **TOL)
