#!/usr/bin/env bash
# Runs every test of the project: Rust unit and integration tests, then real clients
# (kazoo, zkCli.sh, the C client) against our server and against the reference Apache
# ZooKeeper 3.8.0. Installs what the tests need first; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

install_debian_packages() {
  # The JDK compiles the Curator interop program (javac); Curator is what it runs.
  local wanted=(zookeeper zookeeper-bin libzookeeper-java libzookeeper-mt-dev default-jre-headless
    openjdk-17-jdk-headless libcurator-recipes-java)
  local missing=()
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  if ! python3 -c 'import kazoo, pytest, pytest_timeout' 2>/dev/null \
     || [ "$(python3 -c 'import kazoo.version; print(kazoo.version.__version__)')" != "2.11.0" ]; then
    log "installing Python packages"
    python3 -m pip install -q -r tests/interop/requirements.txt
  fi
}

install_debian_packages
install_python_packages

log "building"
cargo build --workspace --all-targets --locked
# Tests that start our server (the Rust client's, the interop suite) run this binary.
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export ZK_SERVER_BIN="$target_dir/debug/zk-server"

log "Rust tests"
cargo test --workspace --locked
log "API documentation (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps -p zk-recipes

log "real clients against zk-server and the reference ZooKeeper"
export ZK_TARGET="${ZK_TARGET:-both}"
python3 -m pytest tests/interop -q -p no:cacheprovider
