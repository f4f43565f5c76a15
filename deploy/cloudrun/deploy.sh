#!/usr/bin/env bash
# Ship a Ballsy release to Cloud Run: build and push the image, migrate, deploy the
# api, realtime and worker services. The platform under them (Artifact Registry, Cloud
# SQL, Memorystore, secrets, service accounts, VPC, load balancer) is Terraform's
# (deploy/terraform); this script only releases onto it.
#
#   deploy/cloudrun/deploy.sh --project my-project [--env staging] [--tag v1.2.0]
#   deploy/cloudrun/deploy.sh --project my-project --dry-run     # print, run nothing
#
# Options: --region (europe-west1), --env dev|staging|production (the instance limits
# of deploy/terraform/envs/<env>; the YAMLs hold production's), --skip-build (the image
# exists), --out DIR (where the rendered manifests go).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

project="${PROJECT_ID:-}"
region="${REGION:-europe-west1}"
environment="production"
repository="ballsy"
tag=""
dry_run=false
build=true
out=""

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --project) project="$2"; shift 2 ;;
    --region) region="$2"; shift 2 ;;
    --env) environment="$2"; shift 2 ;;
    --repository) repository="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-build) build=false; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done

if [ -z "$project" ]; then
  echo "--project (or PROJECT_ID) is required" >&2
  exit 2
fi
# Min and max instances per role and environment: deploy/terraform/envs/*/main.tf
# (tests/deploy/test_cloudrun.py keeps the two in step).
scaling() {
  case "$environment/$1" in
    dev/api) echo "0 2" ;;
    dev/realtime) echo "0 3" ;;
    dev/worker) echo "1 1" ;;
    staging/api) echo "0 4" ;;
    staging/realtime) echo "1 10" ;;
    staging/worker) echo "1 2" ;;
    production/api) echo "0 20" ;;
    production/realtime) echo "1 100" ;;
    production/worker) echo "1 10" ;;
    *) echo "unknown environment or role: $environment/$1" >&2; exit 2 ;;
  esac
}
scaling api > /dev/null

if [ -z "$tag" ]; then
  tag="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)"
fi

image="${region}-docker.pkg.dev/${project}/${repository}/ballsy:${tag}"
sql_connection="${project}:${region}:ballsy-pg"
jobs_bucket="${project}-ballsy-jobs"
network="ballsy"
subnet="ballsy-run"
if [ -z "$out" ]; then
  out="$(mktemp -d "${TMPDIR:-/tmp}/ballsy-cloudrun.XXXXXX")"
fi
mkdir -p "$out"

# Print a command; run it unless this is a dry run.
run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$dry_run" = false ]; then
    "$@"
  fi
}

# The manifests with this release's values in place of their ${...} placeholders, and
# this environment's instance limits (realtime: the session cap is max instances x 15).
render() {
  local source="$1" role="$2" target min max
  target="$out/$(basename "$source")"
  read -r min max < <(scaling "$role")
  sed -e "s|\${PROJECT_ID}|${project}|g" \
      -e "s|\${REGION}|${region}|g" \
      -e "s|\${IMAGE}|${image}|g" \
      -e "s|\${SQL_CONNECTION}|${sql_connection}|g" \
      -e "s|\${JOBS_BUCKET}|${jobs_bucket}|g" \
      -e "s|\${NETWORK}|${network}|g" \
      -e "s|\${SUBNET}|${subnet}|g" \
      -e "s|autoscaling.knative.dev/minScale: \"[0-9]*\"|autoscaling.knative.dev/minScale: \"${min}\"|" \
      -e "s|autoscaling.knative.dev/maxScale: \"[0-9]*\"|autoscaling.knative.dev/maxScale: \"${max}\"|" \
      -e "/name: MAX_CONCURRENT_SESSIONS/{n;s|value: \"[0-9]*\"|value: \"$((max * 15))\"|;}" \
      "$source" > "$target"
  if grep -n '[$]{' "$target" >&2; then
    echo "unfilled placeholder in $target" >&2
    exit 1
  fi
  echo "$target"
}

echo "release ${image} to ${environment} (project ${project}, region ${region}; manifests in ${out})"
gcloud=(gcloud --project "$project")

if [ "$build" = true ]; then
  run "${gcloud[@]}" builds submit "$root" \
    --region "$region" \
    --config "$here/cloudbuild.yaml" \
    --substitutions "_IMAGE=${image}"
fi

migrate_job="$(render "$here/migrate-job.yaml" api)"
run "${gcloud[@]}" run jobs replace "$migrate_job" --region "$region"
run "${gcloud[@]}" run jobs execute ballsy-migrate --region "$region" --wait

# Workers first (they drain old jobs while the old API still accepts uploads), then
# the realtime role (its sockets reconnect with 1012), then the api role.
for role in worker realtime api; do
  manifest="$(render "$here/${role}.yaml" "$role")"
  run "${gcloud[@]}" run services replace "$manifest" --region "$region"
done

echo "done: ${image}"
