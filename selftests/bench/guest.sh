#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the benchmark (driven by scripts/bench.sh through
# selftests/vm-run --kernel bench; see the comment there for the metrics).
#
#   sh guest.sh [RUNS [ENTRIES [SEED [CYCLES [BIG [SETS [HUGE [MANY]]]]]]]]
#
# SETS: comma-separated groups to run (default all): main (the metrics of
# the generated image, walk_warm_vs_tmpfs among them), real (the real tree),
# and the scale metrics of scale.sh: mount_scale, lookup_bigdir,
# many_mounts, shared_cache, container_start, walk_cold_parallel; insns
# (walk_cold_insns: meant for a guest whose clock counts instructions,
# VM_ICOUNT=1). HUGE=1 adds the 1,000,000-entry sizes; MANY is
# many_mounts' number of images.
#
# Finds on /scratch the images and stores scripts/bench.sh built on the host
# (prep_images there) and enables fs-verity on the stores, generates the
# workload's tree again on tmpfs (the warm walk's floor), then measures each
# metric RUNS times on each side and prints one raw line per measurement:
#
#   RUN <metric> <side> <value>
#
# side: composefs (mount -t composefs), reference (EROFS + overlayfs, as
# mount.composefs sets it up), erofs (EROFS alone), direct (the store's
# objects read directly). Comment lines start with '#'. If composefs cannot be
# mounted, its side is skipped with "# composefs: mount failed: <errno> ...".

RUNS=${1:-5}
ENTRIES=${2:-50000}
SEED=${3:-1}
CYCLES=${4:-200}
BIG=${5:-4:8}
SETS=${6:-main,real,mount_scale,lookup_bigdir,many_mounts,shared_cache,container_start,walk_cold_parallel}
SCALE_HUGE=${7:-0}
MANY=${8:-1000}

# has SET: SET is among those to run.
has() {
	case ",$SETS," in *,"$1",*) return 0 ;; esac
	return 1
}

S=/scratch
IMG=$S/img.cfs
STORE=$S/store
M=/mnt/bench

echo "# guest: kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ {print $2}' /proc/meminfo) KiB"
modprobe composefs 2>&1 | sed 's/^/# modprobe: /'
# The bench kernel's clock moves in jiffies under TCG: time with the TSC.
export CFS_BENCH_TSC_HZ
CFS_BENCH_TSC_HZ=$(cfs-bench calibrate 2)
echo "# clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null); timing with rdtsc at $CFS_BENCH_TSC_HZ Hz"

# run METRIC SIDE COMMAND...: COMMAND prints "VALUE ..."; report VALUE.
run() {
	local metric=$1 side=$2 out
	shift 2
	if out=$("$@" 2>/tmp/run.err); then
		echo "RUN $metric $side ${out%% *}"
		LAST=$out
	else
		echo "# $side: $metric failed: $(head -n1 /tmp/run.err)"
		LAST=
	fi
}

# ---- workload ----
t0=$(date +%s)
echo "# t=$t0 workload"
# The source tree goes to tmpfs: /scratch (1 GiB ext4) has too few inodes
# for both the tree and the store.
SRC=/tmp/src
cfs-bench gen -s "$SEED" -n "$ENTRIES" -b "$BIG" $SRC >$S/big.list 2>/tmp/gen.err ||
	{ cat /tmp/gen.err; echo "# workload generation failed"; exit 1; }
sed 's/^cfs-bench: /# workload: /' /tmp/gen.err
t1=$(date +%s)
# The image and the store, built on the host from the same seed (under TCG,
# mkcomposefs's fsync of each object took four minutes here). The reference
# stack (verity=require) refuses objects without fs-verity.
[ -e $IMG ] && [ -d $STORE ] || { echo "# $IMG or $STORE missing: run through scripts/bench.sh"; exit 1; }
cfs-bench verity $STORE >/dev/null || { echo "# enabling fs-verity on the store failed"; exit 1; }
# Written back now, not during the measurements.
sync
t2=$(date +%s)
# The floor of a warm walk is the same tree on tmpfs (no image, no
# stacking): $SRC stays until walk_warm has walked it interleaved with the
# mounted sides.
echo "# workload: generated in $((t1 - t0)) s, fs-verity enabled on the store in $((t2 - t1)) s; image $(wc -c <$IMG) bytes, store $(du -sk $STORE | cut -f1) KiB, $(find $STORE -type f | wc -l) objects"
composefs-info dump $IMG >/tmp/dump
BIGFILES=$(cat $S/big.list)
DIRECT=
for f in $BIGFILES; do
	DIRECT="$DIRECT $STORE/$(awk -v p="/$f" '$1 == p { print $9 }' /tmp/dump)"
done
set -- $DIRECT
rm -f /tmp/dump
cfs-bench drop

# ---- the three ways to mount the image (use_image, mnt, umnt) ----
. "$(dirname "$0")/sides.sh"
mkdir -p $M/composefs $M/reference $M/reference.erofs $M/erofs

# Files for the read benchmarks on one side.
bigfiles() {
	if [ "$1" = direct ]; then
		echo $DIRECT
	else
		for f in $BIGFILES; do printf '%s ' $M/$1/$f; done
	fi
}

use_image $IMG $STORE

# ---- mount_umount: CYCLES mount + unmount cycles in one process
# (cfs-bench mount: as cfs-mount -b, timed with the TSC) ----
mount_bench() {
	case $1 in
	composefs) cfs-bench mount "$2" composefs "$CFS_OPTS" $IMG $M/composefs ;;
	erofs) cfs-bench mount "$2" erofs "$EROFS_OPTS" $IMG $M/erofs ;;
	reference)
		cfs-bench mount "$2" erofs "$EROFS_OPTS" $IMG $M/reference.erofs \
			overlay "$OVL_OPTS" composefs $M/reference ;;
	esac
}
if has main; then
	echo "# t=$(date +%s) mount"
	for side in $SIDES; do mount_bench $side 20 >/dev/null; done
	r=0
	while [ $r -lt "$RUNS" ]; do
		for side in $(round_sides $r); do run mount_umount $side mount_bench $side "$CYCLES"; done
		r=$((r + 1))
	done
fi

# ---- walk_cold and mem_inodes: fresh mount after drop_caches ----
# (SUFFIX names the image: "" for the generated one)
bench_walk_cold() {
	local r=0 side s0 s1
	while [ $r -lt "$RUNS" ]; do
		for side in $(round_sides $r); do
			cfs-bench drop
			sleep 1 # let RCU free what the drop released
			s0=$(cfs-bench slab)
			mnt $side || { echo "# $side: mount failed"; continue; }
			run walk_cold$1 $side cfs-bench walk $M/$side
			s1=$(cfs-bench slab)
			[ -n "$LAST" ] && echo "RUN mem_inodes$1 $side $((s1 - s0))"
			[ $r = 0 ] && [ -n "$LAST" ] && echo "# $side: ${LAST#* } entries walked"
			umnt $side
		done
		r=$((r + 1))
	done
}

# ---- walk_warm: the same walk, repeated on one mount; all sides mounted
# at once and their runs interleaved (with TREE, the source tree on tmpfs
# as one more side: walk_warm_vs_tmpfs) ----
bench_walk_warm() {
	local r side sides= tree=${2:-}
	for side in $SIDES; do
		mnt $side && sides="$sides $side"
	done
	for side in $sides; do cfs-bench walk $M/$side >/dev/null; done
	[ -n "$tree" ] && cfs-bench walk "$tree" >/dev/null
	r=0
	while [ $r -lt "$RUNS" ]; do
		[ -n "$tree" ] && run walk_warm$1 tmpfs cfs-bench walk "$tree"
		for side in $sides; do
			run walk_warm$1 $side cfs-bench walk $M/$side
		done
		r=$((r + 1))
	done
	for side in $sides; do umnt $side; done
}

# ---- open_close: open + close of every regular file on a fresh mount
# (dentries warmed by an untimed walk; the store's inodes are warm) ----
bench_open_close() {
	local r=0 side
	mnt reference && cfs-bench openclose $M/reference >/dev/null
	umnt reference
	while [ $r -lt "$RUNS" ]; do
		for side in $(round_sides $r); do
			mnt $side || continue
			run open_close$1 $side cfs-bench openclose $M/$side
			umnt $side
		done
		r=$((r + 1))
	done
}

# ---- walk_cold_insns: the walk's CPU work. In a guest whose clock counts
# instructions (VM_ICOUNT=1) a walk's milliseconds are millions of
# instructions. The image's pages stay cached (drop_caches 2 drops dentries
# and inodes): waiting for a read counts no instructions, but the clock
# jumps to its next timer, which would make the count vary. ----
bench_walk_insns() {
	local r side
	for side in $SIDES; do
		mnt $side || { echo "# $side: mount failed"; continue; }
		cfs-bench walk $M/$side >/dev/null
		r=0
		while [ $r -lt "$RUNS" ]; do
			echo 2 >/proc/sys/vm/drop_caches
			run walk_cold_insns $side cfs-bench walk $M/$side
			r=$((r + 1))
		done
		umnt $side
	done
}

. "$(dirname "$0")/scale.sh"

if has main || has walk_cold_parallel; then
	echo "# t=$(date +%s) metadata"
	bench_walk_cold ""
fi
if has insns; then
	echo "# t=$(date +%s) walk_cold_insns"
	bench_walk_insns
fi
if has main; then
	bench_walk_warm "" $SRC
	bench_open_close ""
fi
rm -rf $SRC
has walk_cold_parallel && bench_walk_cold_parallel
has container_start && bench_container_start

# ---- read_seq and mmap_read: large files, cold cache ----
has main && echo "# t=$(date +%s) data"
RSIDES="direct ${SIDES%% erofs}"
has main && for metric in read_seq mmap_read; do
	tool=read
	[ $metric = mmap_read ] && tool=mmap
	r=0
	while [ $r -lt "$RUNS" ]; do
		for side in $RSIDES; do
			cfs-bench drop
			mnt $side || continue
			run $metric $side cfs-bench $tool $(bigfiles $side)
			umnt $side
		done
		r=$((r + 1))
	done
done

# ---- a real tree (its image and store built by scripts/bench.sh):
# metadata metrics ----
if [ -e $S/real.cfs ] && has real; then
	echo "# t=$(date +%s) real"
	v=$(cfs-bench verity $S/store-real) || { echo "# real tree: enabling fs-verity failed"; exit 1; }
	sync
	echo "# real tree: $(composefs-info dump $S/real.cfs | wc -l) entries, image $(wc -c <$S/real.cfs) bytes, fs-verity enabled here on ${v%% *} objects"
	use_image $S/real.cfs $S/store-real
	bench_walk_cold _real
	bench_walk_warm _real
	bench_open_close _real
fi
has mount_scale && bench_mount_scale
has lookup_bigdir && bench_lookup_bigdir
has many_mounts && bench_many_mounts
has shared_cache && bench_shared_cache
echo "# t=$(date +%s) guest: done; TSC recalibrated: $(cfs-bench calibrate 2) Hz"
