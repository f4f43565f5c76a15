#!/usr/bin/env bash
# Back up Ballsy's PostgreSQL database with pg_dump (custom format: compressed, and
# pg_restore can restore it selectively and in parallel).
#
#   deploy/scripts/backup.sh [DATABASE_URL] DESTINATION
#
# DATABASE_URL defaults to $DATABASE_URL (Ballsy's own setting; a postgresql+asyncpg://
# URL is accepted). DESTINATION is a directory or a gs://bucket/prefix (copied with
# `gcloud storage cp`). Writes ballsy-<database>-<UTC time>.dump and its .sha256,
# and prints the dump's location. Cloud SQL also keeps its own daily backups and
# point-in-time recovery (deploy/terraform); this is the portable, off-platform copy.
set -euo pipefail

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case $# in
  1) url="${DATABASE_URL:-}"; destination="$1" ;;
  2) url="$1"; destination="$2" ;;
  *) usage ;;
esac
if [ -z "$url" ]; then
  echo "no database: pass DATABASE_URL as the first argument or set it" >&2
  exit 2
fi

# libpq does not know SQLAlchemy's driver suffix.
url="${url/postgresql+asyncpg:/postgresql:}"
url="${url/#postgres:/postgresql:}"
base="${url%%\?*}"
database="${base##*/}"
if ! [[ "$database" =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]]; then
  echo "cannot read a database name from the URL" >&2
  exit 2
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
name="ballsy-${database}-${stamp}.dump"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/ballsy-backup.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges \
  --file="$workdir/$name" --dbname="$url"
(cd "$workdir" && sha256sum "$name" > "$name.sha256")

case "$destination" in
  gs://*)
    target="${destination%/}"
    gcloud storage cp "$workdir/$name" "$workdir/$name.sha256" "$target/"
    ;;
  *)
    target="${destination%/}"
    mkdir -p "$target"
    mv "$workdir/$name" "$workdir/$name.sha256" "$target/"
    ;;
esac
echo "$target/$name"
