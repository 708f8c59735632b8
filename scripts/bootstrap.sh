# Sourced by the other scripts: a project virtualenv with pinned dependencies.
# Usage: . scripts/bootstrap.sh [extras]   (e.g. "dev")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INGEST_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
spec="$ROOT"
[ -n "${1:-}" ] && spec="$ROOT[$1]"
# Quiet unless it fails; the stamp skips reinstalling when nothing changed.
stamp="$VENV/.installed-${1:-base}"
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/constraints.txt" -nt "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$ROOT/constraints.txt" -e "$spec"
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
