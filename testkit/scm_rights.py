"""Descriptors out of recvmsg's ancillary data, for the Python test receivers and tools."""
import array
import socket


def received_fds(ancillary):
    """Every descriptor the SCM_RIGHTS messages in `ancillary` carried, in order."""
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            # A truncated message carries whole descriptors only.
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return list(fds)
