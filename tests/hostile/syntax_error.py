"""Does not parse."""

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "01_custom_linear.py:7: SyntaxError"


def forward(self x):
    return x
