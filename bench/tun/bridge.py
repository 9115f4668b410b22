"""A packet-level delay line for bench/tun/line.sh.

Bridges the TUN devices tunA (namespace csA, the client) and tunB (namespace
csB, the CRM): every IP packet, data and ACKs alike, is passed on ONE_WAY_MS
after it was read, so TCP sees a real round trip (slow start, delayed ACKs,
Nagle's algorithm), unlike bench/delay_line.ts, which relays bytes and
acknowledges locally. Counts the connections opened from csA to csB (SYNs)
in SYN_FILE.

    python3 bridge.py ONE_WAY_MS SYN_FILE
"""
import ctypes
import fcntl
import heapq
import os
import select
import struct
import sys
import time

ONE_WAY = float(sys.argv[1]) / 1000
SYN_FILE = sys.argv[2]
CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
libc = ctypes.CDLL("libc.so.6", use_errno=True)


def open_tun(namespace: str, name: str) -> int:
    """Attach to the TUN device `name` of `namespace` (made by line.sh)."""
    ns = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    if libc.setns(ns, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {namespace}")
    os.close(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def is_syn(packet: bytes) -> bool:
    """A TCP SYN without ACK: a connection being opened."""
    if len(packet) < 40 or packet[9] != 6:
        return False
    flags = packet[(packet[0] & 15) * 4 + 13]
    return bool(flags & 0x02) and not flags & 0x10


def main() -> None:
    a, b = open_tun("csA", "tunA"), open_tun("csB", "tunB")
    other = {a: b, b: a}
    due: list = []  # (time to pass on, order, device, packet)
    order = syns = 0
    with open(SYN_FILE, "w") as f:
        f.write("0")
    while True:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, fd, packet = heapq.heappop(due)
            os.write(fd, packet)
        wait = max(0.0, due[0][0] - now) if due else 1.0
        ready, _, _ = select.select([a, b], [], [], wait)
        for fd in ready:
            packet = os.read(fd, 70000)
            if fd == a and is_syn(packet):
                syns += 1
                with open(SYN_FILE, "w") as f:
                    f.write(str(syns))
            order += 1
            heapq.heappush(due, (time.monotonic() + ONE_WAY, order, other[fd], packet))


main()
