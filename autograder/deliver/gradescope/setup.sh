#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu 22.04,
# Python 3.10). It installs Python and util-linux (unshare, setpriv), puts the kit's pinned
# dependencies in a venv outside the kit's source (student code runs that interpreter, so it
# must stay readable by others while the source is not), closes the source to other users,
# fills the mypy cache, and checks that student code really runs unprivileged here.
#
# Overrides, for trying it outside Gradescope: AUTOGRADER_ROOT (default /autograder),
# MHSA_VENV (default /opt/mhsa-venv), MHSA_BASE_PYTHON (default python3), MHSA_SKIP_APT=1.
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${MHSA_VENV:-/opt/mhsa-venv}"
BASE_PYTHON="${MHSA_BASE_PYTHON:-python3}"

if [ "${MHSA_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    python3 python3-venv python3-pip util-linux ca-certificates
fi

"$BASE_PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), sys.version'
"$BASE_PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
# The project installs only its pinned dependencies (pyproject.toml), never the kit itself.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SOURCE"
rm -rf "$SOURCE/build" "$SOURCE"/*.egg-info
chmod -R a+rX "$VENV"

chmod 0755 "$ROOT"
chmod -R go-rwx "$SOURCE"

cd "$SOURCE"
"$VENV/bin/python" -m autograder.deliver.gradescope_run --warm
echo "setup.sh: ready ($("$VENV/bin/python" --version), venv $VENV)"
