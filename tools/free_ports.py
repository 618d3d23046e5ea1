#!/usr/bin/env python3
"""free_ports.py -- print a free loopback TCP port, then the base of N consecutive free ports.

Usage: free_ports.py N
"""
import random
import socket
import sys


def is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main():
    n = int(sys.argv[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        single = s.getsockname()[1]
    for _ in range(1000):
        base = random.randrange(20000, 60000 - n)
        if all(is_free(base + i) for i in range(n)) and not base <= single < base + n:
            print(single, base)
            return
    sys.exit("no free port range found")


if __name__ == "__main__":
    main()
