#!/usr/bin/env bash
# WeasyPrint renders the statements' PDFs with Pango, HarfBuzz and fontconfig from the system
# (docs/decisions/0016); a fresh Debian may lack them: install Debian's packages when missing.
set -euo pipefail
needed=(libpango-1.0.so.0 libpangoft2-1.0.so.0 libharfbuzz.so.0 libharfbuzz-subset.so.0 libfontconfig.so.1 libgobject-2.0.so.0)
# ldconfig is in /sbin, outside a user's PATH on Debian. The cache is captured before grep reads it:
# `ldconfig -p | grep -q` fails under pipefail when grep stops reading early.
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
installed() { local libraries; libraries="$("$ldconfig" -p)"; grep -qF "$1" <<<"$libraries"; }
missing=0
for library in "${needed[@]}"; do
  installed "$library" || missing=1
done
if [ "$missing" -eq 0 ]; then exit 0; fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian's Pango and HarfBuzz for the PDF statements (WeasyPrint)..."
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 libglib2.0-0 >/dev/null
for library in "${needed[@]}"; do
  installed "$library" || { echo "$library could not be installed" >&2; exit 1; }
done
