#!/usr/bin/env bash
# Restore a backup.sh dump into a fresh PostgreSQL database.
#
#   deploy/scripts/restore.sh DUMP TARGET_DATABASE_URL
#
# DUMP is a file or a gs:// object (fetched with `gcloud storage cp`); its .sha256 is
# checked when present. The target database is created (through the server's
# `postgres` database) unless it exists and is empty; a target that holds tables is
# refused, so a restore never mixes with live data. Restores in one transaction: all
# or nothing. Then point DATABASE_URL at it (docs/runbook.md, "Restore").
set -euo pipefail

if [ $# -ne 2 ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
dump="$1"
url="$2"
url="${url/postgresql+asyncpg:/postgresql:}"
url="${url/#postgres:/postgresql:}"

base="${url%%\?*}"
query=""
if [[ "$url" == *\?* ]]; then
  query="?${url#*\?}"
fi
database="${base##*/}"
server="${base%/*}"
if ! [[ "$database" =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]]; then
  echo "cannot read a database name from the URL" >&2
  exit 2
fi
admin_url="${server}/postgres${query}"

workdir="$(mktemp -d "${TMPDIR:-/tmp}/ballsy-restore.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT
case "$dump" in
  gs://*)
    gcloud storage cp "$dump" "$workdir/"
    gcloud storage cp "$dump.sha256" "$workdir/" 2>/dev/null || true
    dump="$workdir/$(basename "$dump")"
    ;;
esac
if [ ! -f "$dump" ]; then
  echo "no such dump: $dump" >&2
  exit 2
fi
if [ -f "$dump.sha256" ]; then
  (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256")
fi

exists="$(psql "$admin_url" -XAtq -v ON_ERROR_STOP=1 \
  -c "SELECT 1 FROM pg_database WHERE datname = '${database}'")"
if [ "$exists" = "1" ]; then
  tables="$(psql "$url" -XAtq -v ON_ERROR_STOP=1 \
    -c "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
  if [ "$tables" != "0" ]; then
    echo "database ${database} already holds ${tables} tables: restore into a fresh one" >&2
    exit 1
  fi
else
  psql "$admin_url" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${database}\""
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$url" "$dump"
psql "$url" -XAtq -v ON_ERROR_STOP=1 -c "ANALYZE"
echo "restored $(basename "$dump") into ${database}"
