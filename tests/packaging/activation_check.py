#!/usr/bin/env python3
"""The contract between the units and dbproxyd, checked without systemd as PID 1.

Starts dbproxyd the way dbproxyd.service + dbproxyd.socket + dbproxyd-admin.socket would:
systemd-socket-activate passes both listening sockets named "agent" and "admin"
(FileDescriptorName=), NOTIFY_SOCKET collects sd_notify messages (Type=notify) and
WATCHDOG_USEC=2 s asks for keep-alives (WatchdogSec=). Checks: READY=1 once serving, both
sockets answer /healthz, WATCHDOG=1 at least every second, SIGHUP (ExecReload=) brings
RELOADING=1 then READY=1, SIGTERM brings STOPPING=1 and exit 0.
Not run by CTest (it needs the agent's socket-activation and watchdog support):
  activation_check.py DBPROXYD
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def main() -> int:
    work = tempfile.mkdtemp()
    try:
        return check(os.path.realpath(sys.argv[1]), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(binary: str, work: str) -> int:
    os.makedirs(f"{work}/policy")
    os.makedirs(f"{work}/state", mode=0o700)
    with open(f"{work}/master.key", "wb") as key:
        key.write(os.urandom(32))
    os.chmod(f"{work}/master.key", 0o400)
    with open(f"{work}/agent.toml", "w", encoding="utf-8") as config:
        config.write(f'[agent]\nsocket = "{work}/agent.sock"\nadmin_socket = "{work}/admin.sock"\n'
                     f'admin_group = "root"\nstate_dir = "{work}/state"\n'
                     f'policy_dir = "{work}/policy"\nkey_file = "{work}/master.key"\n'
                     f'[audit]\nfile = "{work}/audit.log"\n')
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(f"{work}/notify")
    notify.settimeout(0.1)
    agent = subprocess.Popen(
        ["systemd-socket-activate", "-l", f"{work}/agent.sock", "-l", f"{work}/admin.sock",
         "--fdname=agent:admin", "-E", f"NOTIFY_SOCKET={work}/notify",
         "-E", "WATCHDOG_USEC=2000000", binary, "--config", f"{work}/agent.toml"],
        stderr=subprocess.PIPE, text=True)
    start = time.monotonic()
    messages = []

    def collect(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                text = notify.recv(4096).decode()
                messages.append((time.monotonic() - start, text.split("\n")[0]))
            except socket.timeout:
                pass

    def first(prefix, after=0.0):
        return next((t for t, m in messages if m.startswith(prefix) and t >= after), None)

    collect(1.5)
    failures = []
    for name in ("agent", "admin"):
        answer = subprocess.run(["curl", "-s", "--max-time", "3", "--unix-socket", f"{work}/{name}.sock",
                                 "http://localhost/healthz"], capture_output=True, text=True)
        if '"ok"' not in answer.stdout:
            failures.append(f"{name}.sock /healthz: {answer.stdout!r}")
    collect(3.0)
    hup = time.monotonic() - start
    agent.send_signal(signal.SIGHUP)
    collect(1.0)
    term = time.monotonic() - start
    agent.send_signal(signal.SIGTERM)
    collect(1.5)
    try:
        code = agent.wait(timeout=15)
    except subprocess.TimeoutExpired:
        agent.kill()
        code = f"{agent.wait()} (killed: no exit 15 s after SIGTERM)"
    log = agent.stderr.read()

    ready = first("READY=1")
    beats = [t for t, m in messages if m.startswith("WATCHDOG=1")]
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    reloading = first("RELOADING=1", hup)
    if ready is None:
        failures.append("no READY=1")
    if len(beats) < 3 or max(gaps, default=9) > 1.5:
        failures.append(f"watchdog keep-alives at {[round(b, 2) for b in beats]}")
    if reloading is None or first("READY=1", reloading) is None:
        failures.append("SIGHUP: no RELOADING=1 then READY=1")
    if first("STOPPING=1", term) is None:
        failures.append("SIGTERM: no STOPPING=1")
    if code != 0:
        failures.append(f"exit status {code}")
    if "socket activation" not in log:
        failures.append("the agent did not report serving the passed sockets")
    for when, text in messages:
        print(f"{when:6.2f}s {text}")
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        print(log)
        return 1
    print("ok: socket activation (agent, admin), READY, watchdog, RELOADING/READY, STOPPING")
    return 0


if __name__ == "__main__":
    sys.exit(main())
