#!/bin/sh
# The Debian packages the build and the end-to-end tests need (scripts/test-packages.txt),
# installed with apt-get when missing. Run as root. Used by npm run test:all and .ci/run.
set -eu
cd "$(dirname "$0")/.."

packages=$(sed -e 's/#.*//' scripts/test-packages.txt | tr -s ' \n' '\n' | grep -v '^$')
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-test-packages: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -qq --no-install-recommends $missing
fi
