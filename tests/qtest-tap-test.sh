#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/qtest-tap.sh against a fake glib test binary with four tests that
# dies in its second: every test is accounted for, the dead one with its
# last words, and the ones after it still run.
set -u
. "$(dirname "$0")/qtest-tap.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
N=0
FAILED=0

check() {
    N=$((N + 1))
    if grep -Eq -- "$2" "$T/out.tap"; then
        echo "ok $N - $1"
    else
        echo "not ok $N - $1"; FAILED=1
    fi
}

fake() {
    case "$*" in
    *-l*) printf '# Start\n/f/one\n/f/two\n/f/three\n/f/four\n1..4\n' ;;
    *"-p /f/three"*) echo "ok 1 /f/three"; echo "1..1" ;;
    *"-p /f/four"*) echo "qemu: four broke" >&2; return 134 ;;
    *-p*) echo "wrong test run: $*"; return 1 ;;
    *) echo "1..4"; echo "ok 1 /f/one"
       echo "qemu-system-x86_64: lost" >&2; return 134 ;;
    esac
}

qtest_tap "$T/out.tap" fake
sed 's/^/# /' "$T/out.tap"
check "the test before the death passes" '^ok 1 /f/one$'
check "the test that was running fails" '^not ok - /f/two: the test binary died'
check "with its QEMU's last words" '^#   qemu-system-x86_64: lost$'
check "a later test runs alone and passes" '^ok 1 /f/three$'
check "a later test that dies is reported" '^not ok - /f/four: .*died'
check "with its own last words" '^#   qemu: four broke$'
N=$((N + 1))
if [ "$(grep -cE '^(not )?ok ' "$T/out.tap")" -eq 4 ] &&
   ! grep -q 'wrong test' "$T/out.tap"; then
    echo "ok $N - four results for four tests"
else
    echo "not ok $N - four results for four tests"; FAILED=1
fi
echo "1..$N"
exit $FAILED
