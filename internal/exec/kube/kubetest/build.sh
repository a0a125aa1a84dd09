#!/usr/bin/env bash
# build.sh builds the control plane kubetest starts — kube-apiserver, etcd and kwok — from their
# Go modules, once per machine, into $BARGE_KUBE_CACHE (default $HOME/.cache/barge-kube):
#
#   <cache>/kube-apiserver-v1.33.13/kube-apiserver
#   <cache>/etcd-v3.5.21/etcd
#   <cache>/kwok-v0.7.0/kwok
#
# A binary already there is kept, so a second run returns at once. Each component is built in a
# scratch module of its own under its directory, at the lowest priority (nice -n 19), one at a
# time, with CGO_ENABLED=0; a lock file keeps two runs from building at once. A cold build takes
# 13-30 minutes on 2 cores (kube-apiserver alone 8-17). Usage:
#
#   bash internal/exec/kube/kubetest/build.sh [kube-apiserver|etcd|kwok ...]
#
# With no argument it builds all three. The versions must match those in kubetest's cluster.go.
set -euo pipefail

KUBE_VERSION=v1.33.13
KUBE_STAGING_VERSION=v0.33.13
ETCD_VERSION=v3.5.21
KWOK_VERSION=v0.7.0

cache=${BARGE_KUBE_CACHE:-$HOME/.cache/barge-kube}
mkdir -p "$cache"
export CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { printf 'kubetest build: %s\n' "$*" >&2; }

# scratch DIR MODULE: a fresh scratch module in DIR/src.
scratch() {
	rm -rf "$1/src"
	mkdir -p "$1/src"
	(cd "$1/src" && go mod init "$2" >/dev/null 2>&1)
}

build_apiserver() {
	local dir=$cache/kube-apiserver-$KUBE_VERSION
	[ -x "$dir/kube-apiserver" ] && return 0
	log "kube-apiserver $KUBE_VERSION (about 8 minutes)"
	scratch "$dir" barge.run/kubetest/apiserver
	cd "$dir/src"
	# kubernetes' go.mod points every k8s.io staging module at ./staging; a module that requires
	# it must point them at their published releases instead.
	local mod
	mod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
	sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$mod" | while read -r m; do
		go mod edit -replace "$m=$m@$KUBE_STAGING_VERSION"
	done
	go mod edit -require "k8s.io/kubernetes@$KUBE_VERSION"
	printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
	go mod tidy >/dev/null
	nice -n 19 go build -trimpath -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
	mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
}

build_etcd() {
	local dir=$cache/etcd-$ETCD_VERSION
	[ -x "$dir/etcd" ] && return 0
	log "etcd $ETCD_VERSION (about 2 minutes)"
	scratch "$dir" barge.run/kubetest/etcd
	cd "$dir/src"
	go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1
	nice -n 19 go build -trimpath -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3
	mv "$dir/etcd.tmp" "$dir/etcd"
}

build_kwok() {
	local dir=$cache/kwok-$KWOK_VERSION
	[ -x "$dir/kwok" ] && return 0
	log "kwok $KWOK_VERSION (about 3 minutes)"
	mkdir -p "$dir"
	GOBIN=$dir/bin nice -n 19 go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	mv "$dir/bin/kwok" "$dir/kwok"
	rmdir "$dir/bin"
}

what=("$@")
[ ${#what[@]} -eq 0 ] && what=(etcd kwok kube-apiserver)

exec 9>"$cache/build.lock"
flock 9
for c in "${what[@]}"; do
	start=$SECONDS
	case $c in
	kube-apiserver) (build_apiserver) ;;
	etcd) (build_etcd) ;;
	kwok) (build_kwok) ;;
	*) log "unknown component $c" && exit 2 ;;
	esac
	log "$c ready in $((SECONDS - start)) s"
done
