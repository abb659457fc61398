# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced: apt for another Debian suite (Debian 13's, its backports)
# through a state of its own, on the mirror this machine's apt uses:
# packages are downloaded from it, never installed, and the machine's own
# apt sources and lists are left as they are.  The caller defines die().

# apt_suite_init DIR SUITE...: the state in DIR, with SUITE's sources
apt_suite_init() {
    APT_SUITE_DIR=$1
    shift
    [ -f "$APT_SUITE_DIR/sources.list" ] && return 0
    _as_uri=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources \
              2>/dev/null | head -n 1)
    [ -n "$_as_uri" ] ||
        _as_uri=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
    [ -n "$_as_uri" ] || die "cannot find the Debian mirror in /etc/apt"
    mkdir -p "$APT_SUITE_DIR/lists/partial" \
        "$APT_SUITE_DIR/cache/archives/partial"
    for _as_suite in "$@"; do
        printf 'deb %s %s main\ndeb-src %s %s main\n' "$_as_uri" \
            "$_as_suite" "$_as_uri" "$_as_suite"
    done > "$APT_SUITE_DIR/sources.list"
}

# apt_suite ARGS...: apt-get on that state
apt_suite() {
    apt-get -q -o Dir::Etc::sourcelist="$APT_SUITE_DIR/sources.list" \
        -o Dir::Etc::sourceparts=/nonexistent \
        -o Dir::State::Lists="$APT_SUITE_DIR/lists" \
        -o Dir::Cache="$APT_SUITE_DIR/cache" -o Debug::NoLocking=1 "$@"
}
