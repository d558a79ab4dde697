"""torch-katas: a kata harness and PyTorch-aware grader for learning nn.Module internals."""

__version__ = "0.1.0"
