"""Defaults shared by the CLI, the grader and the plugin (kept import-light: no torch here)."""

SPEC_TIMEOUT = 10.0  # seconds one spec may run (pytest-timeout, inside the child)
# Wall-clock limit for a whole kata, enforced by the parent. Specs draw many inputs each, and a slow but
# correct learner implementation must not be cut short: a kata stops early by itself once one spec times out.
KATA_WALL_SECONDS = 4 * SPEC_TIMEOUT
MEMORY_MB = 4096  # memory cap per grading child
# Judges per job while the machine has a core for each: they take a check module's specs from a shared
# queue (zygote.py), and share which have failed, so that results do not depend on the number (draw.py).
JUDGES = 2
