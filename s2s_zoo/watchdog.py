"""Stops every process of a job when one of them dies (no hang).

A process whose peer has died either waits forever inside a collective
operation (JAX's CPU collectives can) or fails at once with an error that
names no process (Gloo: "Connection closed by peer"), after which JAX's
shutdown may abort it with a C++ stack trace. While it waits it holds
Python's interpreter lock, so a thread of its own cannot help. Each
process of a job therefore starts this module as a small child process
(standard library only), which keeps one TCP connection per worker to
process 0's watchdog: process 0's listens on the coordinator's host at the
coordinator's port + 1, the others connect to it.

What goes over a connection, one byte each:

- `.` every second (a heartbeat);
- `B` (goodbye): the process is leaving on purpose, and every other must
  end within `GRACE` seconds;
- `D` and the time in milliseconds: the process died (its watchdog saw
  its standard input close without the goodbye);
- `F`: its watchdog stopped it because another process died.

A watchdog that hears of a death (`D`, or a connection closed without a
goodbye), or of a peer stopped so (`F`), or that hears nothing for
`timeout` seconds, prints which process it was to its parent's standard
error and kills its parent (SIGKILL: a process blocked in a collective
handles no other signal), also when the parent was already leaving (it
may be leaving because of that death). A process killed so exits with
status -9. A watchdog whose own parent died first (a failed collective
can kill it before the news arrives) still prints the name of a peer that
died before it, if it hears of one within `ORPHAN_WAIT` seconds.

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
DIED = b"D"
FOLLOWED = b"F"
INTERVAL = 1.0
# Seconds a process may take to exit once it, or a peer, has left.
GRACE = 120.0
# Seconds a watchdog whose parent died waits to hear whether a peer died
# before it.
ORPHAN_WAIT = 1.0

# This watchdog's connections to its peers.
_CONNECTIONS = []
# Set when this watchdog kills its parent: the parent's end is then no news.
_KILLING = threading.Event()


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


def _send_all(message):
    for conn in _CONNECTIONS:
        try:
            conn.sendall(message)
        except OSError:
            pass


def _kill_parent(parent, message):
    _KILLING.set()
    sys.stderr.write(f"s2s_zoo: error: {message}; stopping this process.\n")
    sys.stderr.flush()
    try:
        os.kill(parent, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _send_all(FOLLOWED)
    os._exit(1)


def _now_ms():
    return int(time.time() * 1000)


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
    received = b""
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
        # Heartbeats carry nothing; what is left is at most one message
        # (a digit-only time may come in pieces).
        received += data.replace(HEARTBEAT, b"")
        if GOODBYE in received:
            # The peer finished (or failed and is leaving): this process
            # must follow soon, or it is waiting for one that is gone.
            time.sleep(GRACE)
            _kill_parent(
                parent,
                f"{peer_name} left the job {GRACE:.0f} s ago and this "
                f"process has not finished; this is process {me}",
            )
        if FOLLOWED in received:
            if state["orphaned"]:
                return  # stopped because this process died
            _kill_parent(
                parent,
                f"{peer_name} was stopped because another process of the "
                f"job died; this is process {me}",
            )
        if DIED in received and received.endswith(b"\n"):
            died_at = int(received[received.index(DIED) + 1 : -1])
        elif not data:
            died_at = _now_ms()  # its watchdog is gone too
        else:
            continue
        message = (
            f"{peer_name} died (it ended without leaving the job); this is "
            f"process {me}"
        )
        if state["orphaned"]:
            state["dead"].append((died_at, message))
            return
        _kill_parent(parent, message)


def main(argv):
    parent, me, count = int(argv[0]), int(argv[1]), int(argv[2])
    host, _, port = argv[3].rpartition(":")
    timeout = float(argv[4])
    state = {"leaving": False, "orphaned": False, "dead": []}
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
    _CONNECTIONS.extend(conn for _, conn in connections)
    for name, conn in connections:
        threading.Thread(
            target=_serve,
            args=(parent, me, name, conn, timeout, state),
            daemon=True,
        ).start()
    # The parent writes "bye" before it exits on purpose; EOF alone means
    # it died.
    line = sys.stdin.readline()
    state["leaving"] = True
    if _KILLING.is_set():
        time.sleep(GRACE)  # `_kill_parent` tells the peers and exits
    if line.strip() != "bye":
        died_at = _now_ms()
        state["orphaned"] = True  # first: a peer's `F` is then ignored
        _send_all(DIED + str(died_at).encode() + b"\n")
        # A peer that died first is the likely cause (a collective fails
        # as soon as its sockets close): name it in this process's log.
        deadline = time.monotonic() + ORPHAN_WAIT
        while time.monotonic() < deadline:
            earlier = sorted(d for d in state["dead"] if d[0] <= died_at)
            if earlier:
                sys.stderr.write(
                    f"s2s_zoo: error: {earlier[0][1]}, which ended too.\n"
                )
                sys.stderr.flush()
                break
            time.sleep(0.05)
        return
    _send_all(GOODBYE)
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
