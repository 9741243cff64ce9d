#!/usr/bin/env bash
# Create the virtual environment; on a fresh Debian, install python3-venv first.
set -euo pipefail
python="$1"; venv="$2"
if [ -z "$python" ]; then echo "Python 3.11 is required (apt-get install python3)" >&2; exit 1; fi
if ! "$python" -m venv "$venv" 2>/dev/null; then
  rm -rf "$venv"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing python3-venv from Debian's packages..."
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  "$python" -m venv "$venv"
fi
