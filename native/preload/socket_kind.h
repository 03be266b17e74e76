/* What kind of socket a descriptor is, asked with getsockopt (never touches errno). */
#ifndef SKBOX_PRELOAD_SOCKET_KIND_H
#define SKBOX_PRELOAD_SOCKET_KIND_H

/* SO_DOMAIN / SO_TYPE / SO_ACCEPTCONN of FD, or -1 when FD is not a socket. */
int skbox_socket_domain(int fd);
int skbox_socket_type(int fd);
int skbox_socket_listening(int fd);

/* A TCP-like socket: SOCK_STREAM in AF_INET or AF_INET6 (the only sockets replaced). */
int skbox_is_inet_stream(int fd);

#endif
