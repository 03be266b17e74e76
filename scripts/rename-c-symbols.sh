#!/bin/sh
# Renames every C identifier that is outside the naming scheme of docs/conventions.md (today's
# rly_/RLY_ of the relay and skc_/SKC_ of the clients and the shared receive) to its name in
# the scheme, across the tree, and checks that nothing collides and nothing is left.
#   scripts/rename-c-symbols.sh [--dry-run]
# --dry-run prints the renames and the collisions and changes nothing. Exit 1: a collision (two
# old names onto one new name, or a new name already in use; add a line to EXCEPTIONS) or an
# old name still there afterwards. Run it on a clean checkout: it edits files in place.
set -eu
cd "$(dirname "$0")/.."

# Where the names are used: the native code and its bindings, the test harnesses and probes
# that link it (test/native/, test/helpers/*.c), the benchmark's C programs, and prose that
# names them. docs/conventions.md is left out: it describes the old prefixes.
PATHS="native test bench docs README.md SECURITY.md :(exclude)docs/conventions.md"
OLD='(rly|RLY|skc|SKC)_[A-Za-z0-9_]+'

# The rules: the relay takes its module word (rly_relay_create -> skbox_relay_create, rly_conn
# -> skbox_relay_conn), the clients' and the shared receive's names take the prefix alone
# (skc_receive_fd -> skbox_receive_fd). Each line of EXCEPTIONS overrides them for one name
# the rules would give twice or give a name that already exists.
EXCEPTIONS='
skc_send_fds skbox_send_fds_waiting
SKC_RECEIVE_MAX_FDS SKBOX_FD_RECEIVE_MAX_FDS
'

new_name() {
  exception=$(printf '%s\n' "$EXCEPTIONS" | awk -v old="$1" '$1 == old { print $2 }')
  if [ -n "$exception" ]; then
    echo "$exception"
    return
  fi
  echo "$1" | sed -E \
    -e 's/^rly_relay(_|$)/skbox_relay\1/' -e 't' \
    -e 's/^rly_/skbox_relay_/' -e 't' \
    -e 's/^RLY_RELAY(_|$)/SKBOX_RELAY\1/' -e 't' \
    -e 's/^RLY_/SKBOX_RELAY_/' -e 't' \
    -e 's/^skc_/skbox_/' -e 's/^SKC_/SKBOX_/'
}

dry_run=0
[ "${1:-}" = "--dry-run" ] && dry_run=1

# shellcheck disable=SC2086 # PATHS is a list of pathspecs
old_names=$(git grep -h -o -w -E "$OLD" -- $PATHS | sort -u)
if [ -z "$old_names" ]; then
  echo "rename-c-symbols: no name outside the scheme"
  exit 0
fi

map=$(mktemp)
trap 'rm -f "$map" "$map.sed"' EXIT
for old in $old_names; do
  printf '%s %s\n' "$old" "$(new_name "$old")"
done >"$map"

collisions=0
# Two old names onto one new one.
for new in $(awk '{ print $2 }' "$map" | sort | uniq -d); do
  echo "collision: $(awk -v n="$new" '$2 == n { print $1 }' "$map" | tr '\n' ' ')-> $new" >&2
  collisions=$((collisions + 1))
done
# A new name that the tree already uses (as a function, type, macro, header guard, anything).
# shellcheck disable=SC2086
for new in $(awk '{ print $2 }' "$map"); do
  if git grep -q -w -F "$new" -- $PATHS; then
    echo "collision: $(awk -v n="$new" '$2 == n { print $1 }' "$map") -> $new, which is already used:" >&2
    git grep -n -w -F "$new" -- $PATHS | head -3 | sed 's/^/  /' >&2
    collisions=$((collisions + 1))
  fi
done

if [ "$dry_run" -eq 1 ]; then
  column -t "$map" 2>/dev/null || cat "$map"
  echo "rename-c-symbols: $(wc -l <"$map") names to rename, $collisions collisions (dry run: nothing changed)"
  [ "$collisions" -eq 0 ]
  exit
fi
if [ "$collisions" -ne 0 ]; then
  echo "rename-c-symbols: $collisions collisions, nothing renamed (add them to EXCEPTIONS)" >&2
  exit 1
fi

# \b on both sides: only whole identifiers (sed counts _ as a word character).
awk '{ printf "s/\\b%s\\b/%s/g\n", $1, $2 }' "$map" >"$map.sed"
# shellcheck disable=SC2086
git grep -l -w -E "$OLD" -- $PATHS | while IFS= read -r file; do
  sed -i -E -f "$map.sed" "$file"
done

# shellcheck disable=SC2086
if git grep -n -w -E "$OLD" -- $PATHS >&2; then
  echo "rename-c-symbols: names above are still outside the scheme" >&2
  exit 1
fi
echo "rename-c-symbols: renamed $(wc -l <"$map") names in $(git diff --name-only | wc -l) files"
