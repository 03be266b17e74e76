export const PROGRAM = 'socketbox-relay';

export const USAGE = `Usage: ${PROGRAM} [OPTIONS]
Forwards each connection it receives (from socketbox, over a UNIX datagram socket) or accepts
to a TCP or UNIX stream server, copying bytes both ways in native code.

Where connections come from (one of):
  -s PATH          bind a datagram socket at PATH ('@name' = abstract) and receive
                   connections on it, e.g. from socketbox -S PATH
  -l FD            accept on the inherited listening socket FD (default: 0)
  -l FD -e         receive connections on the inherited UNIX socket FD instead
  -R SOCKET:SLOT   register for SLOT at a socketbox registration socket in listener mode
                   (docs/fast-path.md): accept on the listening socket the grant carries,
                   which the kernel fast path fills, and receive what does not take it over
                   the registration; exits 0 when socketbox ends the registration
Where they go:
  -c ADDR          backend address (default ::1; IPv4 as ::ffff:a.b.c.d or a.b.c.d)
  -p PORT          backend port (default 80)
  -I IFACE | -n ID scope (interface) of a link-local backend address
  -u PATH          a UNIX stream socket instead ('@name' = abstract)
NAT64 mode:
  -N               the local address the client dialled names the destination: it must
                   lie in the prefix, and its last 32 bits replace those of -c (default
                   ::ffff:0.0.0.0 in this mode); -p 0 keeps the dialled port; with -u the
                   path becomes PATH-xxxxxxxx (those 32 bits in hex)
  -P PREFIX        the prefix (default 64:ff9b::, a /96)
  -x               a /64 prefix: bits 64-95 are carried over too (TCP backends only)
PROXY protocol (the backend learns the client's address):
  -i               send a version 1 header: PROXY TCP6 SRC DST SPORT DPORT
  -2, --proxy-v2   send a version 2 (binary) header
                   A connection whose header cannot be built in full is refused (closed,
                   logged with a running count), never relayed without it
Other:
  -C NAME          TCP congestion control of backend connections (default: the system's,
                   but reno for loopback backends, where pacing as bbr does only delays
                   packets that never leave the host).
                   For a backend on the same host, a non-pacing one (reno, cubic) avoids
                   the reordering that pacing (bbr) causes on loopback
  -T MS            give up connecting to the backend after MS milliseconds (default 10000)
  --idle-timeout D close a connection once no byte moved either way for D (like 90s or
                   500ms; a bare number is seconds; default 300s = 5 minutes; 0 = never),
                   so silent clients cannot hold the places of -m for good. Each close is
                   logged with a running count ("idle closes: N")
  -m N             relay at most N connections at once (default: as many as the
                   descriptor limit allows; more wait, none is dropped; a connection
                   holds its place until it ends or --idle-timeout closes it)
  -q               no per-connection log line ("TIME [remote]:port -> [local]:port")
                   Log lines never wait for stderr: those it cannot take at once (nobody
                   reading it) are dropped, and the next line written says how many
  -h, --help       this text
SKBOX_STRICT_STREAM_MODE=0|1|2 (default 2) sets which received descriptors are accepted.
SIGTERM or SIGINT stops the relay; its connections are closed.`;
