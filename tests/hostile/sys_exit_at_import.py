"""Calls sys.exit(0) while being imported."""

import sys

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "sys.exit(0)"

sys.exit(0)
