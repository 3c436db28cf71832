#!/usr/bin/env bash
# Puts CrowdSec's binaries under ./.crowdsec/ for the integration tests.
#
# The Debian package's post-install script registers with CrowdSec's central API,
# which fails on machines without internet, so the package is downloaded and
# extracted instead of installed. Nothing outside ./.crowdsec/ and a
# temporary directory is touched; running it twice is a no-op.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${CROWDSEC_DIR:-$root/.crowdsec}"
crowdsec_bin="$dest/usr/bin/crowdsec"
cscli_bin="$dest/usr/bin/cscli"

if [[ -x "$crowdsec_bin" && -x "$cscli_bin" ]]; then
  echo "crowdsec-install: already present: $("$crowdsec_bin" -version 2>&1 | sed -n "s/.*version: /crowdsec /p" | head -1)"
  exit 0
fi

for tool in apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "crowdsec-install: $tool not found (Debian/Ubuntu only)" >&2; exit 1; }
done

# `apt-get download` resolves the package from the local lists; fresh containers
# often have none, and refreshing them needs root.
# Captured first: with pipefail, `grep -q` closing the pipe early would fail the test.
has_candidate() { [[ "$(apt-cache policy crowdsec 2>/dev/null)" == *"Candidate: "[0-9]* ]]; }
if ! has_candidate; then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "crowdsec-install: package lists do not know 'crowdsec'; run 'apt-get update' as root first" >&2
    exit 1
  fi
  echo "crowdsec-install: package lists missing crowdsec, running apt-get update"
  apt-get update -qq
  has_candidate || { echo "crowdsec-install: no 'crowdsec' package in the configured Debian sources" >&2; exit 1; }
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt drops privileges to the _apt user for downloads; the temp dir must be
# reachable by it or apt warns and downloads unsandboxed.
chmod 0755 "$tmp"
if id _apt >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]]; then chown _apt "$tmp"; fi

echo "crowdsec-install: downloading the crowdsec package from the Debian mirror"
(cd "$tmp" && apt-get download -qq crowdsec)
deb="$(ls "$tmp"/crowdsec_*.deb)"
echo "crowdsec-install: fetched $(basename "$deb")"

mkdir -p "$dest"
dpkg -x "$deb" "$dest"
if [[ ! -x "$crowdsec_bin" || ! -x "$cscli_bin" ]]; then
  echo "crowdsec-install: $deb did not contain usr/bin/crowdsec and usr/bin/cscli" >&2
  exit 1
fi
echo "crowdsec-install: extracted into $dest"
echo "crowdsec-install: $("$crowdsec_bin" -version 2>&1 | sed -n "s/.*version: /crowdsec /p" | head -1)"
