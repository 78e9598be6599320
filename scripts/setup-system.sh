#!/usr/bin/env bash
# Installs the Debian packages the test tiers need: Chromium (e2e), libvulkan1 and Mesa
# lavapipe from bookworm-backports (Dawn in Node). Idempotent; quick when all is present.
# As root it installs what is missing; otherwise it says exactly what is missing.
set -euo pipefail

need_vulkan_mesa() {
  # Dawn rejects bookworm's Mesa 22 lavapipe; it needs Mesa >= 25 from backports.
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -z "$v" ] && return 0
  dpkg --compare-versions "$v" lt 25 && return 0
  return 1
}
missing=()
dpkg -s libvulkan1 >/dev/null 2>&1 || missing+=(libvulkan1)
need_vulkan_mesa && missing+=("mesa-vulkan-drivers(>=25, bookworm-backports)")
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing Debian packages: ${missing[*]}" >&2
  echo "  run as root: sudo bash scripts/setup-system.sh" >&2
  echo "  (see ../shared/GPU_TESTING.md: Mesa lavapipe must come from bookworm-backports)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ ! -f /etc/apt/sources.list.d/backports.sources ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  # Derive the backports source from the machine's own Debian mirror.
  awk '/^URIs:.*\/debian$/ {print "Types: deb\n" $0 "\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg"; exit}' \
    /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/backports.sources
fi
apt-get update -q
apt-get install -y -q --no-install-recommends libvulkan1 chromium fonts-liberation
apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
echo "setup-system: installed ${missing[*]}"
