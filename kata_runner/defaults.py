"""Defaults shared by the CLI, the grader and the plugin (kept import-light: no torch here)."""

SPEC_TIMEOUT = 10.0  # seconds one spec may run (pytest-timeout, inside the child)
KATA_WALL_SECONDS = SPEC_TIMEOUT + 5.0  # wall-clock limit for a whole kata, enforced by the parent
MEMORY_MB = 4096  # memory cap per grading child
