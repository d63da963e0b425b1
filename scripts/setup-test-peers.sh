#!/usr/bin/env bash
# Installs the Debian packages the observability tests drive as real peers, when missing:
#   prometheus  -> /usr/bin/prometheus and /usr/bin/promtool (the tests run the binary themselves)
#   chromium    -> /usr/bin/chromium (driven headless by playwright-core)
# Usage: bash scripts/setup-test-peers.sh [prometheus] [chromium]   (both when none is named)
# Idempotent: it only installs what is missing, and returns at once when everything is present.
# Packages that ship a service (prometheus) are installed with services disabled, so nothing is
# left listening on :9090.
set -euo pipefail

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(prometheus chromium)

missing=()
for pkg in "${wanted[@]}"; do
  case "$pkg" in
    prometheus) command -v promtool >/dev/null && [ -x /usr/bin/prometheus ] || missing+=(prometheus) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    *) echo "setup-test-peers: unknown package $pkg (prometheus, chromium)" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# One lock so two test files installing at once do not fight over dpkg.
exec 9>/tmp/blog-poster-setup-test-peers.lock
flock 9

# Keep maintainer scripts from starting daemons (policy-rc.d 101 = "action not allowed").
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  own_policy=1
fi
cleanup() { [ "$own_policy" -eq 1 ] && $sudo rm -f "$policy"; true; }
trap cleanup EXIT

install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
if ! install; then
  $sudo apt-get update -q >/dev/null
  install
fi

# A package whose service started anyway (no policy-rc.d honoured) is stopped again.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    $sudo /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi
