#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image, from /autograder/source.
# Set TORCH_INDEX_URL to PyTorch's CPU-only wheel index to avoid downloading a CUDA build.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-pip python3-venv
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install torch ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
/autograder/venv/bin/pip install -e /autograder/source
