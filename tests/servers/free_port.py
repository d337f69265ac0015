#!/usr/bin/python3
"""Print a TCP port on 127.0.0.1 that is free right now.

Usage: /usr/bin/python3 tests/servers/free_port.py [--host 127.0.0.1]
The kernel picks it (bind to port 0); the socket is closed before printing, so
another process may take it in between: callers that can, should let the
server bind port 0 itself (rtsp_server.py --port 0 does).
"""
import socket
import sys

host = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--host" else "127.0.0.1"
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind((host, 0))
    print(s.getsockname()[1])
