"""Defaults shared by the CLI, the grader and the plugin (kept import-light: no torch here)."""

SPEC_TIMEOUT = 10.0  # seconds one spec may run (pytest-timeout, inside the child)
# Wall-clock limit for a whole kata, enforced by the parent. Specs draw many inputs each, and a slow but
# correct learner implementation must not be cut short: a kata stops early by itself once one spec times out.
KATA_WALL_SECONDS = 4 * SPEC_TIMEOUT
MEMORY_MB = 4096  # memory cap per grading child
# A check module's specs are split into this many fixed groups (by their order in the file); while the
# machine has cores to spare, each group is judged in its own process, against its own subject.
JUDGES = 2
