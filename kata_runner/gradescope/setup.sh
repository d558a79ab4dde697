#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image, from /autograder/source.
# torch comes from PyTorch's CPU-only wheel index by default: Gradescope's graders have no GPU, and the default
# (CUDA) wheel makes a 5.5 GB environment and about triples the grader's memory, where the default limit is 768 MB.
# TORCH_VARIANT=cuda installs the CUDA build instead; TORCH_INDEX_URL, when set, names the wheel index outright.
# AUTOGRADER_ROOT (default /autograder) exists for trying the script locally.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
TORCH_VARIANT="${TORCH_VARIANT:-cpu}"
case "$TORCH_VARIANT" in
    cpu) TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" ;;
    cuda) TORCH_INDEX_URL="${TORCH_INDEX_URL:-}" ;;
    *)
        echo "setup.sh: TORCH_VARIANT is '$TORCH_VARIANT'; set it to cpu (the default) or cuda." >&2
        exit 2
        ;;
esac
apt-get update
apt-get install -y python3 python3-pip python3-venv
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --upgrade pip
"$ROOT/venv/bin/pip" install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch>=2.3"
"$ROOT/venv/bin/pip" install -e "$ROOT/source"
