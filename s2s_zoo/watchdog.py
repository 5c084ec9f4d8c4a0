"""Stops every process of a job when one of them dies (no hang).

A process blocked in a collective operation whose peer has died waits
forever (JAX's CPU collectives do), and while it waits it holds Python's
interpreter lock, so a thread of its own cannot help. Each process of a
job therefore starts this module as a small child process (standard
library only), which keeps one TCP connection per worker to process 0's
watchdog: process 0's listens on the coordinator's host at the
coordinator's port + 1, the others connect to it. Every second each side
sends a heartbeat byte. When a connection closes without the goodbye that
`Watchdog.close` sends, or stays silent for `timeout` seconds, the
watchdog prints which process is gone to its parent's standard error and
kills its parent (SIGKILL: a process blocked in a collective handles no
other signal). A process killed so exits with status -9. Once a process
leaves, on purpose or not, every other must end within `GRACE` seconds.

    python -m s2s_zoo.watchdog PARENT_PID PROCESS_ID NUM_PROCESSES \
        HOST:PORT TIMEOUT
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

HEARTBEAT = b"."
GOODBYE = b"B"
INTERVAL = 1.0
# Seconds a process may take to exit once it, or a peer, has left.
GRACE = 120.0


class Watchdog:
    """The parent's handle on its watchdog child process.

    Args:
        process_id (int): This process.
        num_processes (int): Processes of the job.
        address (str): `host:port` where process 0's watchdog listens.
        timeout (float): Seconds of silence that count as death.
    """

    def __init__(self, process_id, num_processes, address, timeout=30.0):
        self.child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "s2s_zoo.watchdog",
                str(os.getpid()),
                str(process_id),
                str(num_processes),
                address,
                str(timeout),
            ],
            stdin=subprocess.PIPE,
        )

    def close(self):
        """Tells the peers this process is leaving (they must follow
        within `GRACE` seconds); the watchdog stays until it has gone."""
        if self.child.poll() is None:
            try:
                self.child.stdin.write(b"bye\n")
                self.child.stdin.flush()
            except OSError:
                pass


def watchdog_address(coordinator_address):
    """`host:port + 1` of a `host:port` coordinator address."""
    host, _, port = coordinator_address.rpartition(":")
    return f"{host}:{int(port) + 1}"


def _kill_parent(parent, message):
    sys.stderr.write(f"s2s_zoo: error: {message}; stopping this process.\n")
    sys.stderr.flush()
    try:
        os.kill(parent, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os._exit(1)


def _serve(parent, me, peer_name, conn, timeout, state):
    """Heartbeats both ways on `conn` until a goodbye, death or silence."""
    conn.settimeout(timeout)

    def send():
        while not state["leaving"]:
            try:
                conn.sendall(HEARTBEAT)
            except OSError:
                return
            time.sleep(INTERVAL)

    threading.Thread(target=send, daemon=True).start()
    while True:
        try:
            data = conn.recv(64)
        except socket.timeout:
            if state["leaving"]:
                return
            _kill_parent(
                parent,
                f"{peer_name} has sent no heartbeat for {timeout:.0f} s (it "
                f"died or hangs); this is process {me}",
            )
        except OSError:
            data = b""
        if GOODBYE in data:
            # The peer finished (or failed and is leaving): this process
            # must follow soon, or it is waiting for one that is gone.
            time.sleep(GRACE)
            _kill_parent(
                parent,
                f"{peer_name} left the job {GRACE:.0f} s ago and this "
                f"process has not finished; this is process {me}",
            )
        if not data:
            if state["leaving"]:
                return
            _kill_parent(
                parent,
                f"{peer_name} died (its connection closed without a "
                f"goodbye); this is process {me}",
            )


def main(argv):
    parent, me, count = int(argv[0]), int(argv[1]), int(argv[2])
    host, _, port = argv[3].rpartition(":")
    timeout = float(argv[4])
    state = {"leaving": False}
    connections = []
    if me == 0:
        server = socket.create_server((host, int(port)), reuse_port=False)
        server.settimeout(300)
        for _ in range(count - 1):
            conn, _ = server.accept()
            peer = int(conn.recv(16).split(b"\n")[0])
            connections.append((f"process {peer} of {count}", conn))
    else:
        deadline = time.monotonic() + 300
        while True:
            try:
                conn = socket.create_connection((host, int(port)), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    _kill_parent(
                        parent, f"no watchdog of process 0 at {argv[3]}"
                    )
                time.sleep(0.2)
        conn.sendall(f"{me}\n".encode())
        connections.append((f"process 0 of {count}", conn))
    for name, conn in connections:
        threading.Thread(
            target=_serve,
            args=(parent, me, name, conn, timeout, state),
            daemon=True,
        ).start()
    # The parent writes "bye" before it exits on purpose; EOF alone means
    # it died, and the peers then see a connection close without goodbye.
    line = sys.stdin.readline()
    state["leaving"] = True
    if line.strip() != "bye":
        return  # the parent died: the peers see the connection close
    for _, conn in connections:
        try:
            conn.sendall(GOODBYE)
        except OSError:
            pass
    # Leaving can still hang: JAX's shutdown waits for every process, a
    # dead one included.
    deadline = time.monotonic() + GRACE
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.2)
    if os.getppid() == parent:
        _kill_parent(
            parent,
            f"process {me} finished but did not exit within {GRACE:.0f} s "
            "(waiting at shutdown for a process that is gone?)",
        )


if __name__ == "__main__":
    main(sys.argv[1:])
