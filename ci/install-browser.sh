#!/usr/bin/env bash
# Make sure Debian's chromium is there for the browser tests (tests/test_browser.py).
# Idempotent: does nothing when /usr/bin/chromium exists. Installs it with apt-get when it
# can (root, or sudo without a password); otherwise exits 1 with one line saying why, and
# `make test` then skips the browser tests. Never downloads a browser through Playwright:
# the tests drive this system chromium with executable_path.
# CHOKEPOINT_NO_INSTALL=1 forbids installing (to try the skip path).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

if [ "${CHOKEPOINT_NO_INSTALL:-}" = "1" ]; then
    echo "chromium is missing and CHOKEPOINT_NO_INSTALL=1 forbids installing it" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "chromium is missing and installing it needs root or sudo" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and this is not a Debian-like system (no apt-get)" >&2
    exit 1
fi

echo "installing Debian's chromium for the browser tests (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } >/dev/null; then
    echo "chromium is missing and apt-get could not install it" >&2
    exit 1
fi
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
