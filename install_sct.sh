#!/usr/bin/env bash
# Install the Spinal Cord Toolbox on Linux: one command, idempotent.
#
#   ./install_sct.sh [-y] [--venv DIR] [--gpu|--cpu] [--no-path]
#
# Creates (or reuses) a Python virtual environment, installs the toolbox and its dependencies
# (CPU PyTorch by default, CUDA PyTorch with --gpu or when an NVIDIA GPU is detected and -y is
# not forcing --cpu), and adds the sct_* commands and SCT_DIR to ~/.bashrc (unless --no-path).
# Running it twice changes nothing.
set -euo pipefail

SCT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${SCT_VENV:-$SCT_DIR/.venv}"
YES=0
DEVICE=auto
EDIT_PATH=1
TORCH_VERSION="2.13.0"
# nnunetv2 pulls timm, which pulls torchvision: pin the release built for this torch, or pip
# "upgrades" torch to whatever the newest torchvision needs (a multi-GB CUDA build).
TORCHVISION_VERSION="0.28.0"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    -y|--yes) YES=1 ;;
    --venv) VENV="$2"; shift ;;
    --gpu) DEVICE=gpu ;;
    --cpu) DEVICE=cpu ;;
    --no-path) EDIT_PATH=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install_sct.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "install_sct.sh: Python >= 3.10 is required (found: $($PYTHON --version 2>&1))" >&2
  exit 1
fi

if [ "$DEVICE" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then DEVICE=gpu; else DEVICE=cpu; fi
fi

if [ "$YES" -eq 0 ] && [ -t 0 ]; then
  echo "Install the Spinal Cord Toolbox into $VENV (PyTorch: $DEVICE)? [Y/n]"
  read -r answer
  case "$answer" in n*|N*) echo "Aborted."; exit 1 ;; esac
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
[ -f "$VENV/.sct_install_stamp" ] || "$PY" -m pip install --quiet --upgrade pip

# Torch first, pinned, so that later requirements ("torch>=2.0") are already satisfied and pip
# does not fetch a multi-GB CUDA build on a CPU machine.
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  if [ "$DEVICE" = gpu ]; then
    "$PY" -m pip install --quiet "torch==$TORCH_VERSION" --extra-index-url https://download.pytorch.org/whl/cu126
  else
    "$PY" -m pip install --quiet "torch==$TORCH_VERSION"
  fi
fi

# Reinstall only when the requirements (or this script) changed since the last install.
STAMP="$VENV/.sct_install_stamp"
WANT="$(cat "$SCT_DIR/pyproject.toml" "$0" | sha256sum | cut -d' ' -f1) $SCT_DIR"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ] || ! "$PY" -c "import spinalcordtoolbox" 2>/dev/null; then
  "$PY" -m pip install --quiet -e "$SCT_DIR[test]" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
  echo "$WANT" > "$STAMP"
else
  echo "Spinal Cord Toolbox already installed in $VENV (requirements unchanged)"
fi

if [ "$EDIT_PATH" -eq 1 ]; then
  RC="$HOME/.bashrc"
  LINE="export SCT_DIR=\"$SCT_DIR\"; export PATH=\"$VENV/bin:\$PATH\"  # spinalcordtoolbox"
  touch "$RC"
  if ! grep -qF "# spinalcordtoolbox" "$RC"; then
    echo "$LINE" >> "$RC"
    echo "Added the sct_* commands to PATH in $RC (open a new terminal, or: source $RC)"
  fi
fi

"$VENV/bin/sct_check_dependencies" -short
echo "Spinal Cord Toolbox installed in $VENV. Commands: $VENV/bin/sct_*"
