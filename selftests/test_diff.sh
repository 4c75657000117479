#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Differential test: cfs-diff (tools/cfs-diff) generates random trees,
# images (v0, v1, sometimes damaged), stores whose objects are in random
# states and operation sequences, runs each sequence on composefs and on
# EROFS + overlayfs over the same image and store, and compares every
# result and errno. The rounds are fixed, so a failure replays with the
# command it prints. DIFF_ROUNDS lists them as SEED:FIRST:COUNT (DIFF_OPS
# caps the operations of each); `make difftest` runs long random-seed runs
# instead. The set holds the rounds where divergences were found and fixed
# (every one of them is a full random round as well): seed 5 round 0 (the
# last name of an inline directory looked up past the directory's end, also
# found by seed 4 round 0, which is left out to keep the test within three
# minutes), seed 2 round 1 and seed 5 round 0 (an unused inode kept, with
# the object its file found, across the dcache shrink of a remount), seed
# 20261202 round 2 (a mounter without CAP_DAC_OVERRIDE whose own access
# was not checked) and round 21 (the root seeking as a plain directory),
# and seed 7302026 round 20 (a file after a damaged directory entry, found by its
# path, whose handle did not decode), seed 8121 round 30 (ACL xattr names
# on an image without the HAS_ACL flag: EOPNOTSUPP where overlayfs, whose
# superblock always has SB_POSIXACL, gives ENODATA) and round 298 (two
# paths, one through a damaged directory, compared by the tester as one
# result: the allowance for damage did not see its parts), and seed 120326
# round 218 (a directory whose xattr header is damaged: overlayfs's lookup
# reads its redirect xattr and fails, composefs found it and a walk below
# it failed its permission check instead), and seed 31207 round 117 (two
# paths compared as one result, composefs refusing a damaged symlink where
# the reference succeeded: the allowance for damage did not cover a pair
# whose reference result was a success) and round 287 (a whiteout stub
# whose damaged layout field says chunk-based: EROFS reads it, so overlayfs
# hid it from the root's listing, where composefs refused the inode and
# listed the entry), and seed 40312 round 65 (a root entry whose damaged
# inode number is 0: overlayfs looks such an entry up for its number and
# drops it when the lookup fails; composefs listed it) and round 141 (a
# file composefs could not open on a damaged image, whose errno the
# tester's result for a removed object did not carry), and seed 778
# rounds 23 and 27 (crafted images whose directories carried a raw, invalid
# trusted.overlay.redirect, which overlayfs's lookup fails with EINVAL and
# composefs did not check; that was when crafting drew three xattr kinds:
# with five, these rounds now craft directory origins, and test_tree's
# image of raw overlay xattrs holds the redirect cases), and seed 120312
# round 30 (a crafted
# 4-byte metacopy value naming an algorithm but holding no digest:
# overlayfs validates only files whose value is longer than the header, so
# the file opened with verity=on there, where composefs failed it).
. ./lib.sh
load_module

rounds=${DIFF_ROUNDS:-"2:1:1 5:0:1 20261202:2:1 20261202:21:1 7302026:20:1 8121:30:1 8121:298:1 120326:218:1 31207:117:1 31207:287:1 40312:65:1 40312:141:1 778:23:1 778:27:1 120312:30:1"}
# The rounds replay as found with cfs-diff's own operation cap (300).
ops=${DIFF_OPS:-300}
for sfc in $rounds; do
	s=${sfc%%:*} fc=${sfc#*:}
	first=${fc%%:*} count=${fc#*:}
	# Streamed, so that a slow or stuck round shows where it is.
	{ cfs-diff -s "$s" -r "$first" -n "$count" -o "$ops" 2>&1; echo "rc=$?"; } | tee /tmp/diff.out | awk '{ print "# " $0; fflush() }'
	rc=$(sed -n 's/^rc=//p' /tmp/diff.out)
	if [ "$rc" = 0 ] && grep -q '^difftest: .* 0 divergences' /tmp/diff.out; then
		ktap_result pass "seed $s rounds $first+$count: $(grep '^difftest:' /tmp/diff.out)"
	else
		ktap_result fail "seed $s rounds $first+$count: $(grep '^difftest:' /tmp/diff.out || echo "cfs-diff exited with $rc")"
	fi
done
ktap_finish
