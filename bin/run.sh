#!/usr/bin/env bash
# exercism's test-runner interface: bin/run.sh SLUG INPUT_DIR OUTPUT_DIR
# Grades kata SLUG (custom-linear, custom_linear or 01) against the solution in INPUT_DIR (01_custom_linear.py
# or custom_linear.py) and writes OUTPUT_DIR/results.json (interface version 3). Exits 0 whatever the results.
# KATA_PYTHON picks the Python that has torch-katas' dependencies (default: the project's .venv, else python3).
set -uo pipefail
if [ "$#" -ne 3 ]; then
    echo "usage: bin/run.sh SLUG INPUT_DIR OUTPUT_DIR" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${KATA_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
OUTPUT_DIR="$3"
mkdir -p "$OUTPUT_DIR" || exit 1
rm -f "$OUTPUT_DIR/results.json"
KATA_COURSE="${KATA_COURSE:-$ROOT}" KATA_NO_BOOTSTRAP=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m kata_runner.exercism "$1" "$2" "$OUTPUT_DIR"
status=$?
if [ ! -s "$OUTPUT_DIR/results.json" ]; then
    printf '{"version": 3, "status": "error", "message": "The test runner stopped (exit %s) before writing its results.", "tests": []}\n' \
        "$status" > "$OUTPUT_DIR/results.json"
fi
exit 0
