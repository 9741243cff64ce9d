#!/usr/bin/env bash
# The antivirus tests (kartosfera/banks/tests/test_logo_scan.py) start their own ClamAV daemon, with a
# signature database of their own (no freshclam, no internet); install Debian's clamav-daemon when missing.
set -euo pipefail
if [ -x /usr/sbin/clamd ]; then exit 0; fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian's clamav-daemon for the antivirus tests..."
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clamav-daemon >/dev/null
[ -x /usr/sbin/clamd ] || { echo "clamav-daemon could not be installed" >&2; exit 1; }
