"""Imports a module that does not exist."""

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "01_custom_linear.py:6: ModuleNotFoundError"

import torch_kata_helpers_that_do_not_exist  # noqa: E402, F401
