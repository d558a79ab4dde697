"""Kata 05: containers, nn.ModuleList and nn.ModuleDict.

A network with a variable number of blocks and one output head per task needs its submodules in a
container. The obvious choice, a Python list and a Python dict, is the seed notebook's BadModel, and
it is broken in a way that raises no error:

    self.blocks = [Block(dim) for _ in range(num_blocks)]          # a plain list
    self.heads = {name: nn.Linear(dim, out) for ...}                # a plain dict

nn.Module.__setattr__ registers an attribute only when it is an nn.Module or an nn.Parameter. A list
or a dict is neither, so the Blocks and heads inside are invisible: parameters() skips them (the
optimizer never trains them), state_dict() does not save them, .to(device) and .double() do not move
or cast them, and .train()/.eval() do not reach them. forward still runs, so nothing tells you.
nn.ModuleList and nn.ModuleDict are Modules that hold Modules: they register every item, under its
index (blocks.0, blocks.1, ...) or its name (heads.cls, heads.reg, ...).

The contract (everything `kata check 05` holds you to):

Block(dim), dim >= 1:
- holds `linear` = nn.Linear(dim, dim) and `norm` = nn.LayerNorm(dim) (default eps=1e-5, with weight
  and bias). Its state_dict() is exactly linear.weight (dim, dim), linear.bias (dim,), norm.weight
  (dim,) and norm.bias (dim,). Extra submodules WITHOUT parameters (an nn.ReLU) are allowed.
- forward(x) = norm(relu(linear(x)) + x): ReLU, then the residual add (+ x), then the LayerNorm.
  x has shape (*, dim): 1-D (dim,), a batch of one, or several leading dimensions; contiguous or not
  (transposed, sliced, expanded); float32 or float64, the block's dtype, on its device. The output
  has x's shape and dtype. x is never modified (add the residual out of place, not `x += ...`),
  grad mode is left as the caller set it, and under torch.no_grad() the output has no history.

MultiHeadNetwork(in_dim, dim, num_blocks, heads), in_dim, dim >= 1, num_blocks >= 0, heads a dict
{name: out_features} with at least one entry (names are valid module names: non-empty strings without
".", such as "cls", "_aux" or "0"):
- `embed` = nn.Linear(in_dim, dim); `blocks`, num_blocks SEPARATE Blocks (a new Block for each
  position, not one Block repeated), reachable as model.blocks[i]; `heads`, one nn.Linear(dim, out)
  per entry of the dict, reachable as model.heads[name]. The specs reach your layers through exactly
  these paths: model.embed, model.blocks[i].linear / .norm, model.heads[name].
- Everything is registered, in containers named like nn.ModuleList (by index) and nn.ModuleDict (by
  name). The state_dict keys are then exactly those of the same network built from nn.ModuleList and
  nn.ModuleDict:
      embed.weight, embed.bias, blocks.0.linear.weight, blocks.0.linear.bias, blocks.0.norm.weight,
      blocks.0.norm.bias, ..., heads.<name>.weight, heads.<name>.bias
  and, because they are registered: parameters() yields every parameter once (an optimizer step over
  it trains embed, every block and every head), .to(device) and .double() move and cast every layer,
  .train() and .eval() reach every layer, and state_dict() loads into that reference network and back.
- forward(x, head), head positional or keyword: embed, then every block in order, then the head
  called `head`. x has shape (*, in_dim) (1-D, a batch of one, more leading dimensions; any layout:
  transposed, sliced, expanded), float32 or float64 (the model's dtype); the output has shape
  (*, heads[head]). Calling it twice gives the same result. num_blocks=0 is valid: the output is
  then heads[head](embed(x)).
  x is never modified, grad mode is left alone, and under torch.no_grad() there is no history;
  gradients flow from the output back to every block and to embed.
- An unknown head raises KeyError whose message names every available head (ModuleDict's own KeyError
  names only the missing key: raise your own).
- The caller's heads dict is read, never modified (no pop/popitem on it).

Run `kata check 05` to grade this file, `kata hint 05` when stuck.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """A residual block, dim -> dim: norm(relu(linear(x)) + x)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        # TODO: create self.linear, an nn.Linear(dim, dim), and self.norm, an nn.LayerNorm(dim).
        raise NotImplementedError("Block.__init__: create self.linear (dim -> dim) and self.norm (LayerNorm)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, dim) -> (*, dim)."""
        # TODO: ReLU of the linear layer, add the input back (the residual), then the LayerNorm.
        raise NotImplementedError("Block.forward: return norm(relu(linear(x)) + x)")


class MultiHeadNetwork(nn.Module):
    """embed -> blocks -> one of several named heads."""

    def __init__(self, in_dim: int, dim: int, num_blocks: int, heads: dict[str, int]) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        # The seed notebook's BadModel. It runs, but try model.state_dict().keys(),
        # len(list(model.parameters())) or model.double() with these plain Python containers.
        self.blocks = [Block(dim) for _ in range(num_blocks)]
        self.heads = {name: nn.Linear(dim, out) for name, out in heads.items()}
        # TODO: keep the blocks and the heads in containers that register what they hold, so that their
        #       parameters are seen by parameters(), state_dict(), .to() and the optimizer. Then delete
        #       the raise below.
        raise NotImplementedError(
            "MultiHeadNetwork.__init__: register the blocks and heads (a Python list and dict are invisible)"
        )

    def forward(self, x: torch.Tensor, head: str) -> torch.Tensor:
        """(*, in_dim) -> (*, heads[head])."""
        # TODO: embed, then each block in order (there may be none), then the named head. For an unknown
        #       head raise KeyError with a message that lists the available head names.
        raise NotImplementedError("MultiHeadNetwork.forward: embed, run the blocks, then the named head")
