#!/usr/bin/env bash
# Installs everything Mailroom needs to build and test, skipping what is
# already there: the wasm target, cargo-leptos, cargo-machete, the wasm-bindgen CLI that
# matches Cargo.lock, Debian's Chromium, and the end2end npm packages
# (Playwright, binaryen for wasm-opt, and smtp-server for the test peers),
# openssl for the peers' test CA, OpenSSH's sshd for the SFTP repository
# tests, and Cisco's ciscoisesdk in a Python
# virtual environment for the ERS API's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '==> %s\n' "$*"; }

# The tools are built once per machine (cargo-leptos about 14 minutes on 2
# cores, most of it the C of its vendored OpenSSL and aws-lc). Their
# release profiles ask for whole-program LTO in one codegen unit, a long
# serial step for a speed-up no test can see, so it is skipped.
tool_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install "$@"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  step "installing cargo-leptos 0.3.10 (about 14 minutes, once per machine)"
  tool_install cargo-leptos --version 0.3.10 --locked
fi

if ! cargo machete --version 2>/dev/null | grep -q '0\.9\.2'; then
  step "installing cargo-machete 0.9.2 (finds unused dependencies; about a minute, once per machine)"
  tool_install cargo-machete --version 0.9.2 --locked
fi

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen_version"; then
  step "installing wasm-bindgen-cli $bindgen_version (matches Cargo.lock)"
  # Without --locked: its own lock file names a crate release the registry does not serve.
  tool_install wasm-bindgen-cli --version "$bindgen_version" --force
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  step "installing Node.js and npm"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
fi

if ! command -v openssl >/dev/null; then
  step "installing openssl (the test peers make their test CA with it)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y openssl
fi

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
  step "installing OpenSSH's server (the SFTP repository tests start their own sshd)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server openssh-client
fi

if [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's Chromium for the browser tests"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

if [ ! -x end2end/node_modules/.bin/playwright ] || [ ! -x end2end/node_modules/.bin/wasm-opt ] \
  || ! cmp -s end2end/package-lock.json end2end/node_modules/.package-lock.json.installed; then
  step "installing the end2end npm packages"
  (cd end2end && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.installed)
fi

# Cisco's own ERS client, unchanged, drives tests/ers.rs; schemathesis
# checks the API against its OpenAPI document (tests/ers_openapi.rs).
if ! target/ers-venv/bin/python -c 'import ciscoisesdk, schemathesis' 2>/dev/null; then
  step "installing ciscoisesdk 2.4.1 and schemathesis into target/ers-venv (the ERS API's tests)"
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
  fi
  rm -rf target/ers-venv
  python3 -m venv target/ers-venv
  target/ers-venv/bin/pip install --quiet --disable-pip-version-check ciscoisesdk==2.4.1 schemathesis==4.32.5
fi

step "prerequisites are in place"
