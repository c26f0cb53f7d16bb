#!/usr/bin/env bash
# `make backup DIR=...` / `make restore DIR=...`: the shop's database (pg_dump's custom format,
# schema and data, pgvector columns included) and its media folder, into or out of one folder.
#   scripts/backup.sh backup DIR    writes DIR/database.dump, DIR/media.tar.gz, DIR/manifest.txt
#   scripts/backup.sh restore DIR   into an empty database (ARTWALL_RESTORE_REPLACE=yes replaces
#                                   what is there) and the media folder
# Without DATABASE_URL it is `make run`'s shop, whose Postgres it starts and stops if needed.
# With media in Google Cloud Storage (ARTWALL_GCS_BUCKET) the bucket is not copied: use
# `gcloud storage rsync -r gs://BUCKET DIR/media` and back; object versioning keeps the history.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh
action=${1:?usage: scripts/backup.sh backup|restore DIR}
dir=${2:?usage: scripts/backup.sh backup|restore DIR}
[ -n "${DATABASE_URL:-}" ] || use_run_database
media="${ARTWALL_MEDIA_DIR:-$here/.data/media}"
copy_media=true
if [ -n "${ARTWALL_GCS_BUCKET:-}" ]; then
  copy_media=false
  echo "media are in gs://$ARTWALL_GCS_BUCKET: copy them with gcloud storage rsync (see this script's header)" >&2
fi

case "$action" in
  backup)
    mkdir -p "$dir"
    pg_dump --format=custom --no-owner --file "$dir/database.dump" "$DATABASE_URL"
    if $copy_media; then
      mkdir -p "$media"
      tar -C "$media" -czf "$dir/media.tar.gz" .
    fi
    {
      echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
      echo "schema version: $(psql "$DATABASE_URL" -tAc 'SELECT max(version) FROM _sqlx_migrations')"
      echo "paintings: $(psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM paintings')"
      echo "orders: $(psql "$DATABASE_URL" -tAc 'SELECT count(*) FROM orders')"
      echo "media: $($copy_media && echo media.tar.gz || echo "in gs://$ARTWALL_GCS_BUCKET, not copied")"
    } > "$dir/manifest.txt"
    echo "backed up into $dir:"
    cat "$dir/manifest.txt"
    ;;
  restore)
    [ -f "$dir/database.dump" ] || { echo "$dir/database.dump is missing" >&2; exit 1; }
    tables=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    if [ "$tables" != 0 ] && [ "${ARTWALL_RESTORE_REPLACE:-}" != yes ]; then
      echo "the database has $tables tables; restore into an empty one, or set ARTWALL_RESTORE_REPLACE=yes to replace them" >&2
      exit 1
    fi
    pg_restore --clean --if-exists --no-owner --exit-on-error --dbname "$DATABASE_URL" "$dir/database.dump"
    if $copy_media && [ -f "$dir/media.tar.gz" ]; then
      mkdir -p "$media"
      tar -C "$media" -xzf "$dir/media.tar.gz"
    fi
    echo "restored $dir (database and media)"
    ;;
  *)
    echo "usage: scripts/backup.sh backup|restore DIR" >&2
    exit 2
    ;;
esac
