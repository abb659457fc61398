#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small QMP client for the rig's shell steps (no socat in the rig).

  qmp.py SOCKET COMMAND [JSON-ARGUMENTS]   prints the reply's "return"
  qmp.py SOCKET wait-migration STATUS SECONDS
        polls query-migrate until its status is STATUS and prints the
        reply; exits 1 when it ends otherwise or time runs out
"""

import json
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


def main():
    qmp = QMP(sys.argv[1])
    try:
        if sys.argv[2] == "wait-migration":
            out = wait_migration(qmp, sys.argv[3], float(sys.argv[4]))
        else:
            args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
            out = qmp.cmd(sys.argv[2], args)
    except RuntimeError as e:
        print("qmp: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
