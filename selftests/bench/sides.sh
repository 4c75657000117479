#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The ways the benchmark and the profile mount an image, sourced by
# guest.sh and profile.sh. Callers set M (the directory holding one mount
# point per side) and call use_image before mnt/umnt. Sides: composefs
# (mount -t composefs), reference (EROFS + overlayfs, as mount.composefs
# sets it up), erofs (EROFS alone), direct (nothing to mount: the store's
# objects read directly).

# use_image IMAGE STORE: the image and store the mount functions use; sets
# SIDES to the sides that mount it.
use_image() {
	STORE=$2
	switch_image "$1"
	CFS_OPTS="basedir=$STORE"
	SIDES="reference erofs"
	if err=$(mnt composefs 2>&1); then
		umnt composefs
		SIDES="composefs reference erofs"
	else
		rc=$?
		echo "# composefs: mount failed: $rc (${err#cfs-mount: })"
	fi
	mnt reference || { echo "# reference: mount failed"; exit 1; }
	umnt reference
	echo "# sides for $IMG: $SIDES"
}

# switch_image IMAGE: switches to another image of the same store, as
# use_image set it up, without trying the mounts again (SIDES is kept).
switch_image() {
	IMG=$1
	EROFS_OPTS=ro
	# Without HAS_ACL in the header, mount.composefs mounts EROFS with noacl.
	if [ "$(od -An -tu4 -j8 -N4 $IMG | tr -d ' ')" = 0 ]; then EROFS_OPTS=ro,noacl; fi
	OVL_OPTS="ro,metacopy=on,redirect_dir=on,verity=require,lowerdir=$M/reference.erofs::$STORE"
}

# round_sides R: the sides in the order round R measures them, reversed
# on every other round, so that a slow phase of the guest does not always
# fall on the same side.
round_sides() {
	local s out=
	if [ $(($1 % 2)) = 0 ]; then
		echo $SIDES
		return
	fi
	for s in $SIDES; do out="$s $out"; done
	echo $out
}

mnt() {
	case $1 in
	composefs) cfs-mount -t composefs -o "$CFS_OPTS" $IMG $M/composefs ;;
	erofs) cfs-mount -t erofs -o "$EROFS_OPTS" $IMG $M/erofs ;;
	reference)
		cfs-mount -t erofs -o "$EROFS_OPTS" $IMG $M/reference.erofs &&
			cfs-mount -t overlay -o "$OVL_OPTS" composefs $M/reference &&
			cfs-mount -u -l $M/reference.erofs ;;
	direct) : ;;
	esac
}

umnt() {
	[ "$1" = direct ] || cfs-mount -u $M/$1
}
