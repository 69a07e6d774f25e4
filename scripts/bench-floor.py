#!/usr/bin/env python3
"""The floor of the cost rows: a server on a unix socket that answers the docker CLI's
`create`, `cp` and `load` requests at once and does no work (it reads and drops a body).

It does nothing but read, so the time of `docker create`, `docker cp` or `docker load`
against it is close to what the CLI alone costs: its start-up, its reading of the files and
its writing of them to the socket (plus this script's own reading of the socket, which a
server in a compiled language may do in less time). bench-cost.sh times the same commands against it,
beside `strata serve` and dockerd, so a row's target can be seen against what is possible.

Usage: bench-floor.py SOCKET   (serves until killed)
"""
import base64
import json
import os
import socket
import sys
import threading

# `stat` of a directory as dockerd reports it in X-Docker-Container-Path-Stat (os.ModeDir | 0755).
DIR_STAT = base64.b64encode(
    json.dumps(
        {"name": "data", "size": 4096, "mode": (1 << 31) | 0o755, "mtime": "2026-01-01T00:00:00Z", "linkTarget": ""}
    ).encode()
).decode()
HEADERS = "Api-Version: 1.41\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: floor\r\n"


def answer(f, status, headers="", body=b""):
    f.write(f"HTTP/1.1 {status}\r\n{HEADERS}{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    f.flush()


def drain(r, headers):
    """Reads the request body and drops it: by Content-Length, or chunk by chunk."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(r.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while r.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            left = size
            while left:
                got = r.read(min(left, 1 << 20))
                if not got:
                    return
                left -= len(got)
            r.readline()
    else:
        left = int(headers.get("content-length", "0"))
        while left:
            got = r.read(min(left, 1 << 20))
            if not got:
                return
            left -= len(got)


def serve(conn):
    r = conn.makefile("rb", buffering=1 << 20)
    w = conn.makefile("wb")
    try:
        while True:
            line = r.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            headers = {}
            while True:
                h = r.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode().partition(":")
                headers[k.strip().lower()] = v.strip()
            drain(r, headers)
            path = target.split("?")[0]
            if path.endswith("/_ping"):
                answer(w, "200 OK", "Content-Type: text/plain\r\n", b"" if method == "HEAD" else b"OK")
            elif path.endswith("/archive") and method == "HEAD":
                answer(w, "200 OK", f"X-Docker-Container-Path-Stat: {DIR_STAT}\r\n")
            elif path.endswith("/archive"):
                answer(w, "200 OK")
            elif path.endswith("/images/load"):
                answer(w, "200 OK", "Content-Type: application/json\r\n", b'{"stream":"Loaded image: floor:1\\n"}\n')
            elif path.endswith("/containers/create"):
                body = json.dumps({"Id": "0" * 64, "Warnings": []}).encode()
                answer(w, "201 Created", "Content-Type: application/json\r\n", body)
            else:
                answer(w, "404 Not Found", "Content-Type: application/json\r\n", b'{"message":"floor: not served"}')
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
