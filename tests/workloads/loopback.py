"""Send MIB mebibytes over a TCP connection on 127.0.0.1, then idle briefly.

Usage: loopback.py MIB
"""

import socket
import sys
import threading
import time

mib = int(sys.argv[1])
server = socket.create_server(("127.0.0.1", 0))
port = server.getsockname()[1]
received = 0


def drain() -> None:
    global received
    connection, _ = server.accept()
    with connection:
        while chunk := connection.recv(1 << 16):
            received += len(chunk)


reader = threading.Thread(target=drain)
reader.start()
time.sleep(0.3)
with socket.create_connection(("127.0.0.1", port)) as client:
    block = b"x" * (1 << 20)
    for _ in range(mib):
        client.sendall(block)
        time.sleep(0.02)
reader.join()
time.sleep(0.3)
print(received)
