#!/usr/bin/env bash
# Debian packages the tests need: Exempi (XMP), Lua 5.1 + busted + luacheck (Lightroom plugin),
# darktable + Xvfb (darktable plugin, real host), exiftool (read back sidecars), curl, sqlite3,
# chromium + chromium-driver (the review page of `autocull report` in a real browser, driven by selenium).
set -euo pipefail
PKGS=(libexempi8 lua5.1 lua-busted lua-check lua-dkjson libimage-exiftool-perl darktable xvfb xauth curl sqlite3 chromium chromium-driver)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
