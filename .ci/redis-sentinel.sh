#!/usr/bin/env bash
# Starts a Sentinel-monitored Redis pair on loopback for the Sentinel integration tests of
# stores/redis: a master and a replica on 127.0.0.1:7201-7202 and one Sentinel on
# 127.0.0.1:26401 watching them as "authframe-test".
#
#   eval "$(bash .ci/redis-sentinel.sh)"   # exports AUTHFRAME_TEST_REDIS_SENTINEL_ADDRS
#                                          # and AUTHFRAME_TEST_REDIS_SENTINEL_MASTER
#
# Idempotent: when the Sentinel already knows a master with a connected replica it changes
# nothing (the tests fail over, so either node may be the master). Anything else on these
# ports is shut down and started afresh. Nodes keep nothing on disk; their files live under
# $AUTHFRAME_REDIS_SENTINEL_DIR (default /tmp/authframe-redis-sentinel). Progress goes to
# stderr; stdout carries only the export lines.
set -euo pipefail

host=127.0.0.1
ports=(7201 7202)
sport=26401
master=authframe-test
dir=${AUTHFRAME_REDIS_SENTINEL_DIR:-/tmp/authframe-redis-sentinel}

log() { echo "redis-sentinel: $*" >&2; }

exports() {
	echo "export AUTHFRAME_TEST_REDIS_SENTINEL_ADDRS=${host}:${sport}"
	echo "export AUTHFRAME_TEST_REDIS_SENTINEL_MASTER=${master}"
}

answers() { redis-cli -h "$host" -p "$1" ping 2>/dev/null | grep -q PONG; }

# healthy: the Sentinel names a master that answers as a master with one online replica.
healthy() {
	local addr mport
	addr=$(redis-cli -h "$host" -p "$sport" sentinel get-master-addr-by-name "$master" 2>/dev/null | tr -d '\r' | sed -n 2p)
	[ -n "$addr" ] || return 1
	mport=$addr
	redis-cli -h "$host" -p "$mport" info replication 2>/dev/null | tr -d '\r' | grep -q '^role:master$' || return 1
	redis-cli -h "$host" -p "$mport" info replication 2>/dev/null | tr -d '\r' | grep -q '^connected_slaves:1$' || return 1
	redis-cli -h "$host" -p "$mport" info replication 2>/dev/null | tr -d '\r' | grep -q 'state=online' || return 1
	# The Sentinel must also see the replica, or a failover has nowhere to go.
	redis-cli -h "$host" -p "$sport" sentinel replicas "$master" 2>/dev/null | tr -d '\r' | grep -qx 'slave' || return 1
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing redis-server"
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
	else
		log "redis-server and redis-cli are not installed (apt-get install redis-server)"
		exit 1
	fi
fi

if healthy; then
	log "Sentinel pair is already up"
	exports
	exit 0
fi

for p in "${ports[@]}" "$sport"; do
	if answers "$p"; then
		log "restarting the leftover process on port $p"
		redis-cli -h "$host" -p "$p" shutdown nosave >/dev/null 2>&1 || true
		for _ in $(seq 1 50); do answers "$p" || break; sleep 0.1; done
	fi
done

rm -rf "$dir"
mkdir -p "$dir"
redis-server --port "${ports[0]}" --bind "$host" --dir "$dir" --logfile "$dir/${ports[0]}.log" \
	--daemonize yes --save "" --appendonly no >/dev/null
redis-server --port "${ports[1]}" --bind "$host" --dir "$dir" --logfile "$dir/${ports[1]}.log" \
	--daemonize yes --save "" --appendonly no --replicaof "$host" "${ports[0]}" >/dev/null
cat >"$dir/sentinel.conf" <<EOF
port $sport
bind $host
daemonize yes
logfile $dir/sentinel.log
dir $dir
sentinel resolve-hostnames no
sentinel monitor $master $host ${ports[0]} 1
sentinel down-after-milliseconds $master 2000
sentinel failover-timeout $master 10000
sentinel parallel-syncs $master 1
EOF
redis-server "$dir/sentinel.conf" --sentinel >/dev/null

for _ in $(seq 1 150); do
	healthy && break
	sleep 0.2
done
if ! healthy; then
	log "the Sentinel pair did not come up; see $dir/*.log"
	exit 1
fi
log "Sentinel on ${host}:${sport} watches ${master}"
exports
