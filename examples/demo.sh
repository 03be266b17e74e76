#!/bin/sh
# npm run demo: socketbox on [::1]:8080 with examples/socketbox.conf, and a
# demo receiver (socketbox-inetd running demo-hello.sh per connection).
# Try:  curl http://[::1]:8080/      Stop with Ctrl-C.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$(dirname "$here")/bin
PATH="$bin:$PATH"
export PATH
mkdir -p /tmp/socketbox-demo
socketbox --check -f "$here/socketbox.conf" >/dev/null
socketbox-inetd /tmp/socketbox-demo/echo.sock sh "$here/demo-hello.sh" &
receiver=$!
trap 'kill $receiver 2>/dev/null; exit 0' INT TERM EXIT
echo "socketbox demo: in another terminal run   curl http://[::1]:8080/   (Ctrl-C stops)"
socketbox -f "$here/socketbox.conf" -l ::1 -p 8080 --metrics 127.0.0.1:9464
