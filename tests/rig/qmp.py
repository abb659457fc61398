#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small QMP client for the rig's shell steps (no socat in the rig).

  qmp.py SOCKET COMMAND [JSON-ARGUMENTS]   prints the reply's "return"
  qmp.py SOCKET COMMAND JSON-ARGUMENTS COMMAND [JSON-ARGUMENTS]...
        the commands in turn on one connection ("sleep SECONDS" among
        them pauses); prints the last reply's "return"
  qmp.py SOCKET wait-migration STATUS SECONDS
        polls query-migrate until its status is STATUS and prints the
        reply; exits 1 when it ends otherwise or time runs out
  qmp.py SOCKET serve DIR
        runs the commands a guest asks for, until QEMU goes: each file
        DIR/requests/NAME.json (a command and its arguments, "@DIR@" in a
        string standing for DIR) is answered in DIR/requests/NAME.reply
        (tests/rig/run.sh serves the rig's own QEMU to the rig's guest)
"""

import json
import os
import select
import socket
import sys
import time


class QMP:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self._read()                        # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            msg = json.loads(self.file.readline())
            if "event" not in msg:
                return msg

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.file.write(json.dumps(req) + "\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise RuntimeError("%s: %s" % (name, reply["error"]["desc"]))
        return reply["return"]


def wait_migration(qmp, want, seconds):
    end = time.monotonic() + seconds
    while True:
        info = qmp.cmd("query-migrate")
        status = info.get("status")
        if status == want:
            return info
        if status in ("completed", "failed", "cancelled") or \
                time.monotonic() > end:
            raise RuntimeError("migration is %s, not %s" % (status, want))
        time.sleep(0.1)


def substitute(value, outdir):
    if isinstance(value, str):
        return value.replace("@DIR@", outdir)
    if isinstance(value, dict):
        return {k: substitute(v, outdir) for k, v in value.items()}
    return value


def serve_one(qmp, outdir, path):
    with open(path) as f:
        req = substitute(json.load(f), outdir)
    try:
        reply = {"return": qmp.cmd(req["execute"], req.get("arguments"))}
    except RuntimeError as e:
        reply = {"error": str(e)}
    tmp = path[:-len(".json")] + ".tmp"
    with open(tmp, "w") as f:
        json.dump(reply, f)
    os.unlink(path)
    os.rename(tmp, path[:-len(".json")] + ".reply")


def serve(path, outdir):
    reqdir = os.path.join(outdir, "requests")
    os.makedirs(reqdir, exist_ok=True)
    for _ in range(600):
        try:
            qmp = QMP(path)
            break
        except OSError:
            time.sleep(0.1)
    else:
        return 1
    try:
        while True:
            for name in sorted(os.listdir(reqdir)):
                if name.endswith(".json"):
                    serve_one(qmp, outdir, os.path.join(reqdir, name))
            # Events between requests; an end of file when QEMU is gone
            if select.select([qmp.sock], [], [], 0.2)[0] and \
                    not qmp.file.readline():
                return 0
    except (OSError, ValueError):
        return 0                            # QEMU is gone


def main():
    if sys.argv[2] == "serve":
        return serve(sys.argv[1], sys.argv[3])
    qmp = QMP(sys.argv[1])
    try:
        if sys.argv[2] == "wait-migration":
            out = wait_migration(qmp, sys.argv[3], float(sys.argv[4]))
        else:
            rest = sys.argv[2:]
            for i in range(0, len(rest), 2):
                args = json.loads(rest[i + 1]) if i + 1 < len(rest) else None
                if rest[i] == "sleep":
                    time.sleep(args)
                    continue
                out = qmp.cmd(rest[i], args)
    except RuntimeError as e:
        print("qmp: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
