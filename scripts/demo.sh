#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`: boot the test kernel in QEMU and walk through building,
# mounting and verifying a composefs image (selftests/demo.sh).
. "$(dirname "$0")/common.sh"
exec "$PROJECT_ROOT/selftests/vm-run" --attach "$PROJECT_ROOT/selftests" -- sh /attach/selftests/demo.sh
