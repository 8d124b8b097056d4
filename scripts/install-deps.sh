#!/usr/bin/env bash
# Installs every Debian package Weft needs to build, test, demo and benchmark.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang-format
  libboost1.81-dev libssl-dev libnghttp2-dev libabsl-dev prometheus-cpp-dev
  libyaml-cpp-dev libre2-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  curl openssl nginx haproxy nghttp2-client nghttp2-server prometheus python3 python3-pytest
  python3-grpcio python3-h2 python3-websockets python3-cryptography python3-yaml
  iptables iproute2 python3-kubernetes tcpdump
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# kubectl, for offline checks of injected manifests (`kubectl patch --local`): the kubectl
# package where the machine's sources have it, else Debian's kubernetes-client.
if ! command -v kubectl >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubectl ||
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client
fi
