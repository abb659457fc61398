# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sourced by tests/run.sh and the rig's guest script: runs one glib test
# binary (a qtest) to a TAP file that accounts for every test it has, even
# when the binary dies part-way.

# qtest_last_words FILE: the lines after FILE's last TAP result (what the
# binary and its QEMU printed before it died), as TAP comments.
qtest_last_words() {
    awk '/^(not )?ok / { n = 0; next } { tail[n++ % 20] = $0 }
         END { for (i = (n > 20 ? n - 20 : 0); i < n; i++)
                   print "#   " tail[i % 20] }' "$1"
}

# qtest_lost NAME FILE: NAME was running when its binary died.
qtest_lost() {
    _words=$(qtest_last_words "$2")
    echo "not ok - $1: the test binary died in it; its last words:"
    echo "$_words"
}

# qtest_tap OUT CMD...: runs "CMD --tap -k" into OUT.  If it ends before
# every test reported (QEMU lost, a failed assertion, a timeout), the test
# it was running is reported as failed with its last words, and each test
# after it runs alone in a new process, so that one crash costs one test.
qtest_tap() {
    _out=$1
    shift
    "$@" --tap -k > "$_out" 2>&1 || true
    _all=$("$@" -l 2>/dev/null | grep '^/') || return 0
    _done=$(grep -cE '^(not )?ok ' "$_out") || true
    [ "$_done" -lt "$(echo "$_all" | wc -l)" ] || return 0
    _i=0
    for _name in $_all; do
        _i=$((_i + 1))
        if [ "$_i" -le "$_done" ]; then
            continue
        elif [ "$_i" -eq $((_done + 1)) ]; then
            qtest_lost "$_name" "$_out" >> "$_out"
            continue
        fi
        "$@" --tap -k -p "$_name" > "$_out.one" 2>&1 || true
        if grep -qE '^(not )?ok ' "$_out.one"; then
            grep -v '^1\.\.' "$_out.one" >> "$_out"
        else
            qtest_lost "$_name" "$_out.one" >> "$_out"
        fi
    done
    rm -f "$_out.one"
}
