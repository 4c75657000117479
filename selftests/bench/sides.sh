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

# start_files: the files container_start's processes read, picked from
# the dump of IMG (path size mode ... payload, field 9): up to 1,500 shared
# libraries, 1,400 config files and 100 files of 64 KiB or more, outside
# the large files of /opt/bigdata. Writes /tmp/start.all ("PATH OBJECT",
# OBJECT "-" where the data is in the image), /tmp/start.list (the paths)
# and /tmp/start.objects (the objects).
start_files() {
	composefs-info dump $IMG | awk '
		$3 ~ /^100/ && $2 > 0 && $1 !~ /^\/opt\/bigdata\// {
			p = substr($1, 2)
			if ($1 ~ /\.so(\.[0-9.]*)?$/ && nso < 1500) { nso++; print p, $9; next }
			if ($1 ~ /\.(conf|json|xml|rules|service|desktop)$/ && ncf < 1400) { ncf++; print p, $9; next }
			if ($2 >= 65536 && nbig < 100) { nbig++; print p, $9 }
		}' >/tmp/start.all || return 1
	cut -d' ' -f1 /tmp/start.all >/tmp/start.list
	awk '$2 != "-" { print $2 }' /tmp/start.all >/tmp/start.objects
}

# start_mount SIDE: container_start's four roots for SIDE in ROOTS, each a
# fresh mount under $M/cs (direct: the store itself, four times).
start_mount() {
	local k
	ROOTS=
	for k in 0 1 2 3; do
		mkdir -p $M/cs/c$k $M/cs/r$k $M/cs/re$k $M/cs/e$k
		case $1 in
		composefs)
			cfs-mount -t composefs -o "$CFS_OPTS" $IMG $M/cs/c$k || return 1
			ROOTS="$ROOTS $M/cs/c$k" ;;
		reference)
			cfs-mount -t erofs -o "$EROFS_OPTS" $IMG $M/cs/re$k &&
				cfs-mount -t overlay -o "ro,metacopy=on,redirect_dir=on,verity=require,lowerdir=$M/cs/re$k::$STORE" composefs $M/cs/r$k &&
				cfs-mount -u -l $M/cs/re$k || return 1
			ROOTS="$ROOTS $M/cs/r$k" ;;
		direct) ROOTS="$ROOTS $STORE" ;;
		erofs_direct)
			cfs-mount -t erofs -o "$EROFS_OPTS" $IMG $M/cs/e$k || return 1
			ROOTS="$ROOTS $M/cs/e$k" ;;
		esac
	done
}

# start_read SIDE: the four processes of container_start over ROOTS (the
# files of start_files); prints cfs-bench start's "MS FILES BYTES".
start_read() {
	case $1 in
	direct) cfs-bench start /tmp/start.objects $ROOTS ;;
	erofs_direct) cfs-bench start -s $STORE /tmp/start.all $ROOTS ;;
	*) cfs-bench start /tmp/start.list $ROOTS ;;
	esac
}

# start_umount SIDE: undoes start_mount.
start_umount() {
	local k
	[ $1 = direct ] || for k in $ROOTS; do cfs-mount -u $k; done
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
