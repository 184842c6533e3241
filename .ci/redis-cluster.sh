#!/usr/bin/env bash
# Starts a three-master Redis Cluster on 127.0.0.1:7001-7003 for the Cluster integration
# tests of stores/redis (and any other module that reads AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS).
#
#   eval "$(bash .ci/redis-cluster.sh)"     # exports AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS
#
# Idempotent: when the three nodes already answer with cluster_state:ok it changes nothing.
# Nodes that answer but do not form a healthy cluster (a run interrupted half way) are shut
# down and started afresh; they keep nothing on disk (--save "" --appendonly no), and their
# cluster config lives under $AUTHFRAME_REDIS_CLUSTER_DIR (default /tmp/authframe-redis-cluster).
# Progress goes to stderr; stdout carries only the export line.
set -euo pipefail

ports=(7001 7002 7003)
host=127.0.0.1
dir=${AUTHFRAME_REDIS_CLUSTER_DIR:-/tmp/authframe-redis-cluster}
addrs=$(printf "${host}:%s," "${ports[@]}")
addrs=${addrs%,}

log() { echo "redis-cluster: $*" >&2; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	# A fresh machine: install Debian's package (redis-tools, with redis-cli, comes with it).
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing redis-server"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
	else
		log "redis-server and redis-cli are not installed (apt-get install redis-server)"
		exit 1
	fi
fi

answers() { redis-cli -h "$host" -p "$1" ping 2>/dev/null | grep -q PONG; }
state_ok() { redis-cli -h "$host" -p "$1" cluster info 2>/dev/null | tr -d '\r' | grep -q '^cluster_state:ok$'; }
known_nodes() { redis-cli -h "$host" -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_known_nodes://p'; }

healthy() {
	for p in "${ports[@]}"; do
		answers "$p" && state_ok "$p" && [ "$(known_nodes "$p")" = "${#ports[@]}" ] || return 1
	done
}

wait_ok() {
	for _ in $(seq 1 150); do
		healthy && return 0
		sleep 0.2
	done
	return 1
}

if healthy; then
	log "cluster on ${addrs} is already up"
	echo "export AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS=${addrs}"
	exit 0
fi

# Whatever answers on our ports without forming a healthy cluster is a leftover: restart it.
for p in "${ports[@]}"; do
	if answers "$p"; then
		log "restarting the leftover node on port $p"
		redis-cli -h "$host" -p "$p" shutdown nosave >/dev/null 2>&1 || true
		for _ in $(seq 1 50); do answers "$p" || break; sleep 0.1; done
	fi
done

mkdir -p "$dir"
for p in "${ports[@]}"; do
	mkdir -p "$dir/$p"
	rm -f "$dir/$p/nodes.conf"
	redis-server --port "$p" --bind "$host" \
		--cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 5000 \
		--dir "$dir/$p" --logfile "$dir/$p/redis.log" \
		--daemonize yes --save "" --appendonly no >/dev/null
done

for p in "${ports[@]}"; do
	for _ in $(seq 1 50); do answers "$p" && break; sleep 0.1; done
	answers "$p" || { log "node on port $p did not start; see $dir/$p/redis.log"; exit 1; }
done

log "creating the cluster on ${addrs}"
redis-cli --cluster create "${ports[@]/#/${host}:}" --cluster-replicas 0 --cluster-yes >&2

if ! wait_ok; then
	log "cluster did not reach cluster_state:ok"
	redis-cli -h "$host" -p "${ports[0]}" cluster info >&2 || true
	exit 1
fi
log "cluster on ${addrs} is up"
echo "export AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS=${addrs}"
