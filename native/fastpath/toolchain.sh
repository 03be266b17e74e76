#!/bin/sh
# Prints 1 when this machine can build the kernel fast path (clang with the BPF target
# and libbpf's headers), else 0: binding.gyp then builds native/fastpath/off instead.
# SOCKETBOX_FASTPATH=0 or 1 decides instead of looking.
case "${SOCKETBOX_FASTPATH-}" in 0|1) echo "$SOCKETBOX_FASTPATH"; exit 0 ;; esac
if command -v clang >/dev/null 2>&1 && [ -f /usr/include/bpf/libbpf.h ] &&
   echo 'int x;' | clang -target bpf -x c -c -o /dev/null - >/dev/null 2>&1; then
  echo 1
else
  echo 0
fi
