#!/bin/sh
# Checks the C and C++ of native/ and test/native/ against .clang-format (clang-format 14):
# lists each file that is off style with how many of its lines would change, and exits 1 if
# any is. With --fix, formats those files in place instead. Exit 2: no clang-format 14.
#   scripts/check-native-format.sh [--fix] [FILE...]   (default: every tracked file)
set -eu
cd "$(dirname "$0")/.."

fix=0
if [ "${1:-}" = "--fix" ]; then
  fix=1
  shift
fi

# Another major version formats differently, so it could not say what this config means.
formatter=""
for candidate in clang-format-14 clang-format; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" --version | grep -q 'version 14\.'; then
    formatter=$candidate
    break
  fi
done
if [ -z "$formatter" ]; then
  echo "check-native-format: clang-format 14 is needed (Debian: apt-get install clang-format)" >&2
  exit 2
fi

if [ "$#" -eq 0 ]; then
  set -- $(git ls-files 'native/*.c' 'native/*.h' 'native/*.cc' 'test/native/*.c' 'test/native/*.h')
fi

off_files=0
off_lines=0
for file in "$@"; do
  # Lines of the file that the formatter would replace (the "-" side of the diff).
  lines=$("$formatter" --style=file "$file" | diff -U0 "$file" - | tail -n +3 | grep -c '^-' || true)
  [ "$lines" -eq 0 ] && continue
  off_files=$((off_files + 1))
  off_lines=$((off_lines + lines))
  if [ "$fix" -eq 1 ]; then
    "$formatter" --style=file -i "$file"
    echo "formatted $file ($lines lines)"
  else
    echo "$file: $lines lines off style"
  fi
done

if [ "$off_files" -eq 0 ]; then
  echo "check-native-format: $# files in style"
  exit 0
fi
if [ "$fix" -eq 1 ]; then
  echo "check-native-format: formatted $off_files of $# files ($off_lines lines)"
  exit 0
fi
echo "check-native-format: $off_files of $# files off style, $off_lines lines would change (fix: $0 --fix)" >&2
exit 1
