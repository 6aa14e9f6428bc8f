#!/usr/bin/env bash
# Installs trailgate into .venv and runs lint and the whole test suite: once on SQLite and,
# when PostgreSQL answers on 127.0.0.1:5432 (or TRAILGATE_TEST_DATABASE_URL is set), once more on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/ruff check $(ls -d src tests bench examples 2>/dev/null)
# Test modules are imported by basename (rootdir-relative sys.path): two with one name collide.
dups=$(find tests -name 'test_*.py' -printf '%f\n' | sort | uniq -d)
if [ -n "$dups" ]; then echo "test modules with the same name: $dups"; exit 1; fi
.venv/bin/python -m pytest "$@"
PG_URL=${TRAILGATE_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
if .venv/bin/python - "$PG_URL" <<'PY'
import sys
try:
    import psycopg
    psycopg.connect(sys.argv[1].replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
except Exception as exc:  # noqa: BLE001
    print(f"PostgreSQL not reachable ({exc}); skipping the PostgreSQL run")
    sys.exit(1)
PY
then
  echo "== again on PostgreSQL: tests that use the store"
  set +e
  TRAILGATE_TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest -m "postgres" "$@"
  rc=$?
  set -e
  # 5 = no test carries the postgres marker yet; anything else is a real result.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then exit "$rc"; fi
fi
