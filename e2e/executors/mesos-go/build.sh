#!/usr/bin/env bash
# Builds the mesos-go custom executor (main.go, tasks.go) into e2e/dist/executors/mesos-go-executor,
# a static binary every e2e node runs from the workspace it mounts. The protocol code is Debian's
# mesos-go (golang-github-mesos-mesos-go-dev, 0.0.6, Go 1.19 on bookworm), installed here when
# missing: that is the point, a Mesos executor library nobody here wrote. Quick when up to date.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$root/e2e/dist/executors/mesos-go-executor"
want_version='0.0.6'
gopath=/usr/share/gocode
lib="$gopath/src/github.com/mesos/mesos-go/api/v1/lib"

say() { echo "mesos-go executor: $*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in golang-go golang-github-mesos-mesos-go-dev; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { say "apt-get not found: install ${missing[*]} (Debian/Ubuntu packages) yourself"; exit 1; }
  [ "$(id -u)" = 0 ] || { say "not root: run 'sudo apt-get install -y --no-install-recommends ${missing[*]}' or rerun as root"; exit 1; }
  say "installing ${missing[*]} from Debian's archive (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    say "apt-get install failed; updating the package lists and trying once more"
    apt-get update -qq
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

version="$(dpkg-query -W -f='${Version}' golang-github-mesos-mesos-go-dev)"
case "$version" in
  "$want_version"+*) ;;
  *) say "golang-github-mesos-mesos-go-dev is $version, the executor is written against $want_version"; exit 1 ;;
esac
[ -d "$lib/executor" ] || { say "no mesos-go executor library under $lib"; exit 1; }

# Up to date: the binary is newer than its sources and this script.
if [ -x "$out" ] && [ -z "$(find "$here" -newer "$out" -type f -print -quit)" ]; then
  exit 0
fi

say "building with $(go version | cut -d' ' -f3) against mesos-go $version -> ${out#"$root"/}"
mkdir -p "$(dirname "$out")"
cd "$here"
# GOPATH mode: Debian ships the library and its dependencies as GOPATH sources, not modules.
GO111MODULE=off GOPATH="$gopath" GOFLAGS= CGO_ENABLED=0 GOCACHE="$root/.cache/go-build" \
  go build -trimpath -ldflags='-s -w' -o "$out.tmp" .
mv "$out.tmp" "$out"
