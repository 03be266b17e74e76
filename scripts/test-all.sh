#!/bin/sh
# npm run test:all — the whole suite on a fresh Debian machine, from a fresh clone:
# installs the Debian packages the end-to-end tests drive (when missing), the npm
# dependencies (when missing), then builds, lints and tests. Needs root (the
# end-to-end tests use network namespaces; apt-get installs packages).
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test:all: run as root: the end-to-end tests create network namespaces and apt-get installs packages" >&2
  exit 1
fi

sh scripts/install-test-packages.sh

# A fresh clone has no node_modules; an existing one is kept as it is.
[ -d node_modules ] || npm ci
npm test
# ESLint over src/ bench/ load-tests/ test/ testkit/ and the C style of native/ (after the build:
# ESLint's type-aware rules read the generated contract module).
npm run lint
