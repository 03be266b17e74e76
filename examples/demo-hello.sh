#!/bin/sh
# The demo service socketbox-inetd starts for each connection: stdin and
# stdout are the client's TCP connection itself, passed through socketbox.
read -r request_line || true
peer=$(socket-query -r 2>/dev/null || echo unknown)
here=$(socket-query -l 2>/dev/null || echo unknown)
body="Hello from socketbox!
This TCP connection was accepted by socketbox, routed by examples/socketbox.conf
and handed over as a real socket to this shell script (pid $$).
  client (remote end): $peer
  dialled (local end): $here
  request:             $request_line
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$(printf '%s' "$body" | wc -c)" "$body"
