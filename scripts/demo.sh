#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The main job: set up, build, boot the rig and show our vfio-pci assigning
# the rig's nvme to a Linux guest whose nvme driver uses it (under a
# minute once built; tests/rig/guest-demo.sh).
set -eu

. "$(dirname "$0")/config.sh"

"$REPO/scripts/setup.sh"
"$REPO/scripts/build.sh"
exec "$REPO/tests/rig/run.sh" "$REPO/tests/rig/guest-demo.sh" "$BUILD/rig/demo"
