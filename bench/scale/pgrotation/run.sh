#!/usr/bin/env bash
# The PostgreSQL refresh rotation, today's statement and a family kept in the session row,
# beside one UPDATE by primary key: pgbench, 64 clients, 15 s each, in a schema of its own
# (rotexp, dropped and rebuilt per family size). Usage: run.sh [psql connection options]
set -euo pipefail
cd "$(dirname "$0")"
conn=("${@:--h 127.0.0.1 -U postgres -d test}")
# shellcheck disable=SC2206
conn=(${conn[*]})
bench() { pgbench "${conn[@]}" -n -M prepared -c 64 -j 2 -T 15 -f "$1" 2>&1 | awk -v s="$2" '/^tps/ {print s": " $3 " tps"}'; }
psql "${conn[@]}" -q -v nspent=0 -f setup.sql >/dev/null
bench raw.sql "empty families: raw UPDATE"
bench current.sql "empty families: the store's rotation (three writes, two tables)"
for n in 4 32; do
	psql "${conn[@]}" -q -v nspent=$n -f setup.sql >/dev/null
	bench inrow.sql "$n spent kept: the family in the session row"
	bench raw.sql "$n spent kept: raw UPDATE of the same rows"
done
psql "${conn[@]}" -q -c 'DROP SCHEMA rotexp CASCADE' >/dev/null
