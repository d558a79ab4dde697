"""Kata 12: load_compatible, loading what fits from a state_dict. Each spec checks one behaviour."""

import io

import torch
from torch import nn

from kata_runner.asserts import assert_close, assert_equal, assert_keys, assert_on_device, attempt, fail

FIELDS = ("loaded", "mismatched", "missing", "unexpected")
NO_RAISE = (
    "load_compatible must skip what does not fit instead of raising: load_state_dict(strict=False) still raises "
    "on a size mismatch, so filter by shape first; and an in-place copy into a Parameter needs torch.no_grad()."
)
LOADED = "An entry whose key and shape both match the model is copied and reported as loaded."
MISMATCHED = "Keys present in both with different shapes must be reported as mismatched (skipped, not loaded)."
MISSING = (
    "missing lists the model's state_dict keys that the state_dict lacks; a key present with another shape is "
    "mismatched, not missing."
)
UNEXPECTED = "Keys of the state_dict that the model does not have are reported as unexpected."
EXACT = (
    "Compare shapes exactly (own[key].shape == value.shape): copy_ would broadcast this value over the model's "
    "tensor, so catching copy_'s errors is not a shape check."
)
NUMEL = (
    "A value with the same number of elements but another shape is a mismatch: compare shapes, not numel(), "
    "and never reshape a checkpoint's tensor to fit."
)
COPY = "Copy into the model's own tensors in place (own[key].copy_(value) under torch.no_grad())."
SEED = "the seed's 2-layer state_dict loaded into a 3-layer Sequential"


def seed_pair(device):
    """The seed notebook's pair: a 2-layer and a 3-layer Sequential whose second layers differ in shape."""
    small = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2)).to(device)
    big = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)).to(device)
    return small, big


def with_batchnorm(device):
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(device)


class WithScratch(nn.Module):
    """A module with a persistent buffer (`scale`) and a non-persistent one (`scratch`)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.register_buffer("scale", torch.ones(2))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)


def snapshot(model):
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def load(kata, model, state_dict, doing):
    """Call load_compatible and return its report as {field: list of keys}."""
    report = attempt(kata.load_compatible, model, state_dict, doing=doing, why=NO_RAISE)
    lists = {}
    for name in FIELDS:
        value = getattr(report, name, None)
        if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
            fail(
                f"the report's '{name}' should be a list of state_dict keys (str), got {type(value).__name__}: "
                "load_compatible returns a LoadReport with the sorted lists loaded, mismatched, missing, unexpected."
            )
        lists[name] = value
    return lists


def load_seed_pair(kata, device):
    small, big = seed_pair(device)
    return small, big, load(kata, big, small.state_dict(), doing=f"load_compatible(big, small.state_dict()), {SEED},")


def test_matching_keys_are_reported_loaded(kata, device):
    """In the seed's example the first layer, same key and shape, is reported as loaded."""
    _, _, report = load_seed_pair(kata, device)
    assert_keys(report["loaded"], ["0.bias", "0.weight"], f"report.loaded for {SEED}", why=LOADED)


def test_shape_mismatches_are_reported_mismatched(kata, device):
    """In the seed's example the second layer, same keys but other shapes, is reported as mismatched."""
    _, _, report = load_seed_pair(kata, device)
    assert_keys(report["mismatched"], ["1.bias", "1.weight"], f"report.mismatched for {SEED}", why=MISMATCHED)


def test_keys_absent_from_the_state_dict_are_reported_missing(kata, device):
    """In the seed's example only the third layer, which the 2-layer state_dict lacks, is reported missing."""
    _, _, report = load_seed_pair(kata, device)
    assert_keys(report["missing"], ["2.bias", "2.weight"], f"report.missing for {SEED}", why=MISSING)


def test_keys_the_model_lacks_are_reported_unexpected(kata, device):
    """Loading the 3-layer state_dict into the 2-layer model reports the third layer as unexpected."""
    small, big = seed_pair(device)
    report = load(kata, small, big.state_dict(), doing="load_compatible(small, big.state_dict())")
    assert_keys(report["unexpected"], ["2.bias", "2.weight"], "report.unexpected for the reverse load", why=UNEXPECTED)


def test_every_report_list_is_sorted(kata, device):
    """loaded, mismatched, missing and unexpected each come back sorted, whatever the state_dict's order."""
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)).to(device)
    source = {
        "0.weight": torch.randn(8, 4, device=device),
        "0.bias": torch.randn(8, device=device),
        "1.weight": torch.randn(2, 8, device=device),
        "1.bias": torch.randn(2, device=device),
        "extra.weight": torch.randn(3, 3, device=device),
        "extra.bias": torch.randn(3, device=device),
    }
    report = load(kata, model, source, doing="load_compatible on a state_dict in weight-then-bias order")
    expected = {
        "loaded": ["0.bias", "0.weight"],
        "mismatched": ["1.bias", "1.weight"],
        "missing": ["2.bias", "2.weight"],
        "unexpected": ["extra.bias", "extra.weight"],
    }
    for name in FIELDS:
        if report[name] != expected[name] and sorted(report[name]) == expected[name]:
            fail(f"report.{name} is {report[name]}, which is not sorted: every list of the report must be sorted.")
    why = (
        "loaded: key and shape match; mismatched: key in both, shapes differ; missing: only in the model; "
        "unexpected: only in the state_dict."
    )
    for name in FIELDS:
        assert_keys(report[name], expected[name], f"report.{name}", why=why)


def test_matching_entries_are_copied_into_the_model(kata, device):
    """The first layer's weight and bias take the state_dict's values."""
    small, big, _ = load_seed_pair(kata, device)
    assert_equal(big[0].weight, small[0].weight.detach(), f"big[0].weight after {SEED}", why=LOADED)
    assert_equal(big[0].bias, small[0].bias.detach(), f"big[0].bias after {SEED}", why=LOADED)


def test_mismatched_and_missing_entries_keep_their_values(kata, device):
    """Skipped entries are untouched: the second and third layers keep the values they had."""
    small, big = seed_pair(device)
    before = snapshot(big)
    load(kata, big, small.state_dict(), doing=f"load_compatible(big, small.state_dict()), {SEED},")
    after = big.state_dict()
    for key in ("1.weight", "1.bias", "2.weight", "2.bias"):
        assert_equal(
            after[key],
            before[key],
            f"big's '{key}' after loading",
            why="A mismatched or missing entry is skipped: load_compatible touches nothing but the loaded entries.",
        )


def test_a_broadcastable_value_is_a_mismatch_not_a_copy(kata, device):
    """A (4,) weight and a (1,) bias do not fit a Linear(4, 3) even though copy_ could broadcast them."""
    model = nn.Linear(4, 3).to(device)
    before = snapshot(model)
    source = {"weight": torch.randn(4, device=device), "bias": torch.randn(1, device=device)}
    report = load(kata, model, source, doing="load_compatible(Linear(4, 3), {weight: (4,), bias: (1,)})")
    assert_keys(report["mismatched"], ["bias", "weight"], "report.mismatched for broadcastable shapes", why=EXACT)
    for key, value in model.state_dict().items():
        assert_equal(value, before[key], f"the model's '{key}' after loading a broadcastable value", why=EXACT)


def test_a_transposed_weight_with_the_same_number_of_elements_is_a_mismatch(kata, device):
    """A (4, 3) weight does not fit a (3, 4) one, although both hold 12 elements."""
    model = nn.Linear(4, 3).to(device)
    before = snapshot(model)
    source = {"weight": torch.randn(4, 3, device=device), "bias": torch.randn(3, device=device)}
    report = load(kata, model, source, doing="load_compatible(Linear(4, 3), {weight: (4, 3), bias: (3,)})")
    assert_keys(report["mismatched"], ["weight"], "report.mismatched for a transposed weight", why=NUMEL)
    assert_equal(model.weight, before["weight"], "the model's weight after loading a transposed one", why=NUMEL)


def test_batchnorm_buffers_load_too(kata, device):
    """BatchNorm's running_mean, running_var and num_batches_tracked load like the parameters."""
    source_model = with_batchnorm(device)
    with torch.no_grad():
        source_model[1].running_mean.copy_(torch.randn(4))
        source_model[1].running_var.copy_(torch.rand(4) + 0.5)
        source_model[1].num_batches_tracked.fill_(7)
    model = with_batchnorm(device)
    report = load(kata, model, source_model.state_dict(), doing="load_compatible on a Linear + BatchNorm1d model")
    why = "BatchNorm's running statistics are buffers: they are in state_dict() and must load like parameters."
    assert_keys(report["loaded"], source_model.state_dict().keys(), "report.loaded", why=why)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        expected = getattr(source_model[1], name)
        assert_equal(getattr(model[1], name), expected, f"the BatchNorm's {name} buffer after loading", why=why)


def test_non_persistent_buffers_are_never_missing(kata, device):
    """A buffer registered with persistent=False is not part of a state_dict, so it is never reported missing."""
    model = WithScratch().to(device)
    source = WithScratch().to(device).state_dict()
    report = load(kata, model, source, doing="load_compatible on a model with a non-persistent buffer")
    assert_keys(
        report["missing"],
        [],
        "report.missing for a complete state_dict",
        why="'scratch' is a non-persistent buffer: it is not in model.state_dict(), so it can never be missing. "
        "Compare against model.state_dict(), not named_parameters() + named_buffers().",
    )


def test_values_are_cast_to_the_models_dtype(kata, device):
    """A float32 state_dict loads into a float64 model, whose tensors stay float64."""
    model = nn.Linear(4, 3).to(device=device, dtype=torch.float64)
    source = nn.Linear(4, 3).to(device).state_dict()
    load(kata, model, source, doing="load_compatible(float64 model, float32 state_dict)")
    for key, value in model.state_dict().items():
        assert_equal(
            value,
            source[key].double(),
            f"the model's '{key}' after loading float32 values",
            why="The copy must be cast to the model's dtype: "
            + COPY
            + " Rebinding (param.data = value) adopts the source's dtype.",
        )


def test_a_cpu_state_dict_loads_into_a_model_on_the_device(kata, device):
    """A state_dict on the CPU loads into a model on the device, and the model stays on the device."""
    model = nn.Linear(4, 3).to(device)
    source = nn.Linear(4, 3).state_dict()
    load(kata, model, source, doing=f"load_compatible(model on {device.type}, CPU state_dict)")
    why = "The copy must go to the model's device. " + COPY
    for name, param in model.named_parameters():
        assert_on_device(param, device, f"the model's '{name}' after loading a CPU state_dict")
        assert_equal(param, source[name].to(device), f"the model's '{name}' after loading", why=why)


def test_parameters_are_updated_in_place(kata, device):
    """The model keeps the same nn.Parameter objects and their requires_grad flags."""
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2)).to(device)
    model[0].weight.requires_grad_(False)
    params = dict(model.named_parameters())
    flags = {name: param.requires_grad for name, param in params.items()}
    source = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2)).to(device).state_dict()
    load(kata, model, source, doing="load_compatible on a model with a frozen weight")
    after = dict(model.named_parameters())
    for name, param in params.items():
        if after.get(name) is not param:
            fail(
                f"'{name}' is a new object after loading: an optimizer built before still holds the old Parameter. "
                + "Load in place. "
                + COPY
            )
        if param.requires_grad != flags[name]:
            fail(
                f"'{name}' has requires_grad={param.requires_grad} after loading, was {flags[name]}: "
                "loading values must not freeze or unfreeze parameters."
            )


def test_loaded_values_share_no_memory_with_the_source(kata, device):
    """Changing the state_dict's tensors after loading does not change the model."""
    model = nn.Linear(4, 3).to(device)
    source = nn.Linear(4, 3).to(device).state_dict()
    expected = {key: value.clone() for key, value in source.items()}
    load(kata, model, source, doing="load_compatible(model, state_dict)")
    with torch.no_grad():
        for value in source.values():
            value.add_(1.0)
    for key, value in model.state_dict().items():
        assert_equal(
            value,
            expected[key],
            f"the model's '{key}' after the source tensor was changed",
            why="The model shares memory with the state_dict it loaded from. " + COPY,
        )


def test_the_callers_state_dict_is_not_modified(kata, device):
    """The state_dict passed in keeps all its keys, in order, and all its values."""
    small, big = seed_pair(device)
    source = small.state_dict()
    keys = list(source)
    values = {key: value.clone() for key, value in source.items()}
    load(kata, big, source, doing=f"load_compatible(big, small.state_dict()), {SEED},")
    why = "load_compatible modified the caller's state_dict: filter into a new dict, never delete from the input."
    if list(source) != keys:
        fail(f"the state_dict passed in had keys {keys}, and {list(source)} after the call. {why}")
    for key, value in values.items():
        assert_equal(source[key], value, f"the caller's state_dict['{key}'] after the call", why=why)


def test_a_torch_save_and_load_round_trip_loads(kata, device):
    """A state_dict saved with torch.save and read back with torch.load(weights_only=True) loads completely."""
    source_model = with_batchnorm(device)
    with torch.no_grad():
        source_model[1].running_mean.copy_(torch.randn(4))
    buffer = io.BytesIO()
    torch.save(source_model.state_dict(), buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True, map_location="cpu")
    model = with_batchnorm(device)
    report = load(kata, model, checkpoint, doing="load_compatible(model, torch.load(..., weights_only=True))")
    assert_keys(report["loaded"], checkpoint.keys(), "report.loaded for a saved and reloaded checkpoint", why=LOADED)
    x = torch.randn(5, 3, device=device)
    expected = source_model.eval()(x).detach()
    assert_close(model.eval()(x).detach(), expected, "the outputs of the model loaded from the checkpoint", why=LOADED)
