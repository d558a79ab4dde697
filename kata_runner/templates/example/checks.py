"""Kata 01: Scale, a learned per-feature scale.

Every spec is judged outside the learner's process: a @probe runs the learner's layer in the subject
and returns plain observations; the spec draws the inputs, computes the expected values with its own
torch and decides. (The author's guide, docs/authoring.md of torch-katas, explains each piece.)

Contract clauses, and the specs that enforce them:

C1  weight is a registered Parameter of shape (num_features,), initialised to ones; state_dict()
    holds exactly it.   -> weight_is_a_parameter_of_ones
C2  forward(x) for x of shape (*, num_features), float32 or float64, contiguous or not, returns
    x * weight in x's shape, dtype and device.   -> forward_scales_each_feature
"""

import torch

from kata_runner.asserts import assert_close, assert_keys, each
from kata_runner.draw import TensorSpec, batches, describe, examples, given, sizes, tensors
from kata_runner.probing import probe, snapshot

# ------------------------------------------------------------------------------------------ probes
# They run in the subject, next to the learner's code: they observe, the specs below decide.


@probe
def construct(impl, cases):
    """The state_dict of a fresh Scale(n) on `device`, for each (n, device)."""
    return [snapshot(impl.Scale(n).to(device).state_dict()) for n, device in cases]


@probe
def forward(impl, cases):
    seen = []
    for weight, x in cases:
        layer = impl.Scale(weight.shape[0]).to(device=x.device, dtype=x.dtype)
        with torch.no_grad():
            layer.weight.copy_(weight)
        seen.append(layer(x))
    return seen


# ------------------------------------------------------------------------------------------ specs


@given(drawn=batches(sizes(1, 16)))
@examples(3)
def test_weight_is_a_parameter_of_ones(kata, device, drawn):
    """weight is a registered Parameter of shape (num_features,), initialised to ones."""
    seen = kata.run(construct, [(n, device) for n in drawn], doing=f"Scale({drawn[0]})")
    for n, state in each(drawn, seen):
        assert_keys(state, ["weight"], f"Scale({n}).state_dict() keys",
                    why="Only tensors wrapped in nn.Parameter are registered: plain attributes are invisible.")
        assert_close(state["weight"], torch.ones(n, device=device), f"the initial weight of Scale({n})",
                     why="A fresh scale is the identity: every weight starts at one.")


FEATURES_AND_INPUT = sizes(1, 6).flatmap(lambda n: tensors((n,), dtypes=(torch.float32, torch.float64)))


@given(drawn=batches(FEATURES_AND_INPUT))
@examples(4)
def test_forward_scales_each_feature(kata, device, drawn):
    """forward(x) multiplies each feature of x by its weight, for any leading shape and layout."""
    cases = [(TensorSpec(spec.shape[-1:], spec.dtype, seed=spec.seed + 1).make(device), spec.make(device))
             for spec in drawn]
    seen = kata.run(forward, cases, doing=f"forward on {drawn[0].describe()}")
    for (weight, x), out in each(cases, seen):
        assert_close(out, x * weight, f"forward on {describe(x)}",
                     why="Expected x * weight, feature by feature (the weight pairs with the last dimension).")
