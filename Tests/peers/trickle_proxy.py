"""A TCP proxy that hands the server's bytes to the client a few hundred at a time, with a pause
between them, as a slow network path does: TLS records then arrive in pieces.

Usage: trickle_proxy.py LISTEN_PORT TARGET_PORT [CHUNK_BYTES [PAUSE_SECONDS]]
Prints "ready" once it listens. The client's bytes go to the server at once.
"""
import socket
import sys
import threading
import time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 700
pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01


def pump(source, destination, slow):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if not slow:
                destination.sendall(data)
                continue
            for start in range(0, len(data), chunk):
                destination.sendall(data[start:start + chunk])
                time.sleep(pause)
    except OSError:
        pass
    finally:
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", listen_port))
listener.listen(8)
print("ready", flush=True)
while True:
    client, _ = listener.accept()
    upstream = socket.create_connection(("127.0.0.1", target_port))
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, True), daemon=True).start()
