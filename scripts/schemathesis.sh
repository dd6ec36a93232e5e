#!/bin/sh
# Runs Schemathesis (PyPI), installing the pinned version into
# target/schemathesis (a virtualenv) first when it is missing:
# `sh scripts/schemathesis.sh run …`. Used by tests/e2e/schemathesis.test.mjs.
set -eu
cd "$(dirname "$0")/.."
VERSION=4.32.5
VENV=target/schemathesis
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q " $VERSION\$"; then
  printf 'setup: installing schemathesis %s into %s\n' "$VERSION" "$VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi
exec "$VENV/bin/schemathesis" "$@"
