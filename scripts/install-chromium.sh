#!/usr/bin/env bash
# Installs Debian's Chromium for the GraphiQL browser test (test/server/graphiql.test.ts).
#
# Playwright's own browser download cannot work on machines that only reach the
# npm registry and Debian mirrors, so the test drives the distribution
# package through playwright-core. Running it twice is a no-op.
set -euo pipefail

bin=/usr/bin/chromium

if [[ -x "$bin" ]]; then
  echo "install-chromium: already present: $("$bin" --version 2>/dev/null || echo "$bin")"
  exit 0
fi

command -v apt-get >/dev/null || { echo "install-chromium: apt-get not found (Debian/Ubuntu only)" >&2; exit 1; }

# Installing packages needs root; use sudo when it is there rather than failing late.
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-chromium: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive

# Fresh containers often ship without package lists; refreshing them is slow, so only
# do it when apt does not know a candidate for chromium yet.
candidate="$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ {print $2}')"
if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
  echo "install-chromium: refreshing package lists"
  "${sudo[@]}" apt-get update -q
fi

"${sudo[@]}" apt-get install -y -q --no-install-recommends chromium

[[ -x "$bin" ]] || { echo "install-chromium: $bin still missing after install" >&2; exit 1; }
echo "install-chromium: installed: $("$bin" --version 2>/dev/null || echo "$bin")"
