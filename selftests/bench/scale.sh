#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# How the cost grows (issue 18): the scale metrics of the benchmark, sourced
# by guest.sh after its own metrics (it provides run, mnt, umnt, use_image,
# M, S, RUNS, CYCLES, IMG and STORE of the generated image, and the
# walk_cold RUN lines walk_cold_parallel's speed-up is taken against).
# Each function prints "RUN <metric> <side> <value>" lines as guest.sh does;
# report.py turns them into BENCH lines. See scripts/bench.sh's header for
# what each metric means.
#
# Big trees come from dump files (cfs-bench gendump | mkcomposefs
# --from-file -): /scratch has too few inodes for them as files. Their
# regular files are backed by the few objects of a template image
# ($S/store-scale), so that both sides can open any of them, and nothing of
# the data is read. The template, many_mounts' images and shared_cache's
# trees and images are built on the host by scripts/bench.sh (prep_images).

# SCALE_HUGE=1 adds the 1,000,000-entry sizes; MANY is the number of images
# many_mounts mounts at once.
SCALE_HUGE=${SCALE_HUGE:-0}
MANY=${MANY:-1000}

# The template's store gets fs-verity (the host could not give it).
scale_template() {
	[ -e $S/tmpl.dump ] && cfs-bench verity $S/store-scale >/dev/null && return 0
	echo "# scale: the template from scripts/bench.sh is missing or its fs-verity failed"
	return 1
}

# scale_image IMAGE ENTRIES FANOUT [TAG]: a generated image from a dump.
scale_image() {
	local t0 t1
	t0=$(date +%s)
	cfs-bench gendump -x -n "$2" -f "$3" -t "${4:-}" $S/tmpl.dump |
		mkcomposefs --from-file - "$1" || { echo "# scale: image of $2 entries failed"; return 1; }
	# Written back now, not during the measurements that follow.
	sync
	t1=$(date +%s)
	echo "# scale: image of $2 entries ($3 per directory): $(wc -c <"$1") bytes, built in $((t1 - t0)) s"
}

# ---- mount_scale_<size>: mount + umount cycles of images of 10k, 100k
# (and 1M) entries. All the images are built first and each round measures
# every size in turn: the growth rows compare sizes, and a slow phase of the
# guest (seen: every side's mounts of one size 3 times slower than in
# another run) then falls on all of them, not on one size. ----
bench_mount_scale() {
	local sizes="10k:10000 100k:100000" sz tag n r side built=
	[ "$SCALE_HUGE" = 1 ] && sizes="$sizes 1m:1000000"
	scale_template || return
	echo "# t=$(date +%s) mount_scale"
	for sz in $sizes; do
		tag=${sz%%:*}
		n=${sz#*:}
		scale_image $S/scale-$tag.cfs "$n" 1000 || continue
		use_image $S/scale-$tag.cfs $S/store-scale
		for side in $SIDES; do mount_bench $side 20 >/dev/null; done
		eval "sides_$tag=\$SIDES"
		built="$built $tag"
	done
	r=0
	while [ $r -lt "$RUNS" ]; do
		for tag in $built; do
			switch_image $S/scale-$tag.cfs
			eval "SIDES=\$sides_$tag"
			for side in $(round_sides $r); do run mount_scale_$tag $side mount_bench $side "$CYCLES"; done
		done
		r=$((r + 1))
	done
	for tag in $built; do rm -f $S/scale-$tag.cfs; done
}

# ---- lookup_bigdir_<size>: cold stat of 2,000 random names (all of them,
# in random order, when the directory holds fewer) in one directory ----
bench_lookup_bigdir() {
	local sizes="1k:1000 100k:100000" sz tag n r side c
	[ "$SCALE_HUGE" = 1 ] && sizes="$sizes 1m:1000000"
	scale_template || return
	echo "# t=$(date +%s) lookup_bigdir"
	for sz in $sizes; do
		tag=${sz%%:*}
		n=${sz#*:}
		c=2000
		[ "$n" -lt $c ] && c=$n
		scale_image $S/bigdir.cfs $((n + 2)) "$n" || continue
		use_image $S/bigdir.cfs $S/store-scale
		r=0
		while [ $r -lt "$RUNS" ]; do
			for side in $(round_sides $r); do
				cfs-bench drop
				mnt $side || continue
				run lookup_bigdir_$tag $side cfs-bench lookup -s $((r + 1)) -c $c $M/$side/d00000 "$n"
				umnt $side
			done
			r=$((r + 1))
		done
		rm -f $S/bigdir.cfs
	done
}

# ---- many_mounts: MANY distinct images of 200 entries, one store, all
# mounted at once ----
drop2() {
	cfs-bench drop
	cfs-bench drop
	sleep 1 # let RCU free what the drops released
}

inodes_nr() {
	cut -f1 /proc/sys/fs/inode-nr
}

bench_many_mounts() {
	local i r side m0 m1 m2 n0 n2 out a b
	scale_template || return
	echo "# t=$(date +%s) many_mounts: $MANY images"
	i=0
	while [ $i -lt "$MANY" ]; do
		a=$(printf %04d $i)
		[ -e $S/many/img$a.cfs ] || { echo "# many_mounts: image $a missing"; return; }
		mkdir -p $M/many/c$a $M/many/e$a $M/many/r$a $M/many/re$a
		i=$((i + 1))
	done
	echo "# many_mounts: $MANY images, $(du -sk $S/many | cut -f1) KiB; t=$(date +%s)"
	use_image $S/many/img0000.cfs $S/store-scale
	r=0
	while [ $r -lt "$RUNS" ]; do
		for side in $(round_sides $r); do
			drop2
			m0=$(cfs-bench mem composefs_inode)
			n0=$(inodes_nr)
			case $side in
			composefs)
				out=$M/many/c
				set -- composefs "basedir=$S/store-scale" "$S/many/img{}.cfs" "$M/many/c{}" ;;
			erofs)
				out=$M/many/e
				set -- erofs "$EROFS_OPTS" "$S/many/img{}.cfs" "$M/many/e{}" ;;
			reference)
				out=$M/many/r
				set -- erofs "$EROFS_OPTS" "$S/many/img{}.cfs" "$M/many/re{}" \
					overlay "ro,metacopy=on,redirect_dir=on,verity=require,lowerdir=$M/many/re{}::$S/store-scale" \
					composefs "$M/many/r{}" ;;
			esac
			run many_mounts $side cfs-bench mountall "$MANY" "$@"
			[ -n "$LAST" ] || continue
			# Each mount walked once, then the caches dropped twice: what
			# stays is what a mounted image costs when idle. EROFS alone, a
			# row without a target whose figure barely moves between runs,
			# only in the first run: its walks took a quarter of the set's
			# time.
			if [ $side != erofs ] || [ $r = 0 ]; then
				run many_mounts_walk $side cfs-bench walkall "$MANY" "$out{}"
				drop2
				m1=$(cfs-bench mem composefs_inode)
				set -- $m0 $m1
				echo "RUN many_mounts_mem $side $(awk "BEGIN { printf \"%.2f\", (${4} + ${5} - ${1} - ${2}) / $MANY }")"
				[ $r = 0 ] && echo "# many_mounts $side: mounted: slab +$((${4} - ${1})) KiB, page cache +$((${5} - ${2})) KiB for $MANY mounts"
			fi
			run many_mounts_umount $side cfs-bench umountall "$MANY" "$out{}"
			drop2
			m2=$(cfs-bench mem composefs_inode)
			n2=$(inodes_nr)
			set -- $m0 $m2
			echo "RUN many_mounts_slab_left $side $((${4} - ${1}))"
			echo "RUN many_mounts_inodes_left $side $((n2 - n0))"
			if [ $side = composefs ] && [ "${3}" != -1 ]; then
				echo "RUN many_mounts_cfs_inode_left $side $((${6} - ${3}))"
			elif [ $side = composefs ] && [ $r = 0 ]; then
				echo "# many_mounts: composefs_inode slab not readable in this kernel (no /proc/slabinfo); inode-nr used instead"
			fi
		done
		r=$((r + 1))
	done
	rm -rf $S/many
}

# ---- walk_cold_parallel: the cold walk of the generated image by 2
# processes (one per vCPU): split (disjoint subtrees) and same (both over
# the whole tree) ----
bench_walk_cold_parallel() {
	local r=0 side mode np
	np=$(nproc)
	[ "$np" -lt 2 ] && np=2
	echo "# t=$(date +%s) walk_cold_parallel: $np walkers"
	while [ $r -lt "$RUNS" ]; do
		for mode in split same; do
			for side in $(round_sides $r); do
				cfs-bench drop
				sleep 1
				mnt $side || continue
				if [ $mode = split ]; then
					run walk_cold_parallel $side cfs-bench pwalk split $np $M/$side
				else
					run walk_cold_parallel_same $side cfs-bench pwalk same $np $M/$side
				fi
				[ $r = 0 ] && [ -n "$LAST" ] && echo "# walk_cold_parallel $mode $side: ${LAST#* } entries walked"
				umnt $side
			done
		done
		r=$((r + 1))
	done
}

# ---- container_start: 4 "containers" start at once, each on its own fresh
# mount of the generated image after drop_caches, each opening, reading and
# closing the same 3,000 files (shared libraries, config files, the largest
# files). Two floors: direct reads only the objects (nothing looked up in
# an image); erofs_direct looks each file up and opens it on its own EROFS
# mount of the image, then reads its object directly (or the file itself
# where its data is in the image): the least an image-based filesystem
# does. ----
bench_container_start() {
	local r=0 side
	start_files || return
	echo "# t=$(date +%s) container_start"
	echo "# container_start: $(wc -l </tmp/start.list) files ($(wc -l </tmp/start.objects) with an object) read by 4 processes over 4 mounts"
	while [ $r -lt "$RUNS" ]; do
		for side in composefs reference direct erofs_direct; do
			case " $SIDES direct erofs_direct " in *" $side "*) ;; *) continue ;; esac
			cfs-bench drop
			if ! start_mount $side; then
				echo "# container_start $side: mount failed"
				start_umount $side
				continue
			fi
			run container_start $side start_read $side
			[ $r = 0 ] && [ -n "$LAST" ] && echo "# container_start $side: ${LAST#* } (files, bytes)"
			start_umount $side
		done
		r=$((r + 1))
	done
}

# ---- shared_cache: two images whose trees share 90% of their objects, read
# one after the other: page cache after both / after the first ----
bench_shared_cache() {
	local r=0 side a ab m0 m1 m2 p0 p1 p2 sh=/tmp/shared
	echo "# t=$(date +%s) shared_cache"
	rm -rf $sh
	mkdir -p $sh
	# The baseline without sharing: the two trees as plain files on ext4
	# (plain-a, plain-b: B is A with every tenth regular file changed), with
	# their images and store.
	[ -e $S/sh-b.cfs ] && [ -d $S/plain-b ] || { echo "# shared_cache: the trees from scripts/bench.sh are missing"; return; }
	cfs-bench verity $S/store-sh >/dev/null || { echo "# shared_cache: fs-verity failed"; return; }
	(cd $S/plain-b && find . -type f | sort) >$sh/list
	# The floor: the images and the objects read directly (each read of B's
	# objects adds only what A did not read).
	composefs-info objects $S/sh-a.cfs >$sh/objects-a
	composefs-info objects $S/sh-b.cfs >$sh/objects-b
	echo "# shared_cache: $(wc -l <$sh/list) files per tree, $(du -sk $S/plain-a | cut -f1) KiB each, store $(du -sk $S/store-sh | cut -f1) KiB for both, images $(wc -c <$S/sh-a.cfs) + $(wc -c <$S/sh-b.cfs) bytes"
	mkdir -p $M/sh
	for a in a b; do mkdir -p $M/sh/c$a $M/sh/r$a $M/sh/re$a; done
	use_image $S/sh-a.cfs $S/store-sh
	while [ $r -lt "$RUNS" ]; do
		for side in composefs reference plain direct; do
			case " $SIDES plain direct " in *" $side "*) ;; *) continue ;; esac
			# The trees as plain files, a baseline without a target whose
			# page cache moves by a few KiB between runs, only in the first
			# run: each side's run takes a fifth of the set's time.
			[ $side = plain ] && [ $r != 0 ] && continue
			drop2
			m0=$(awk '/^Cached:/ { print $2 }' /proc/meminfo)
			p0=$(awk '/^pgpgin / { print $2 }' /proc/vmstat)
			for a in a b; do
				case $side in
				composefs) cfs-mount -t composefs -o "basedir=$S/store-sh" $S/sh-$a.cfs $M/sh/c$a ;;
				reference)
					cfs-mount -t erofs -o "$EROFS_OPTS" $S/sh-$a.cfs $M/sh/re$a &&
						cfs-mount -t overlay -o "ro,metacopy=on,redirect_dir=on,verity=require,lowerdir=$M/sh/re$a::$S/store-sh" composefs $M/sh/r$a &&
						cfs-mount -u -l $M/sh/re$a ;;
				esac
				case $side in
				composefs) ab=$M/sh/c$a ;;
				reference) ab=$M/sh/r$a ;;
				plain) ab=$S/plain-$a ;;
				esac
				if [ $side = direct ]; then
					cat $S/sh-$a.cfs >/dev/null &&
						(cd $S/store-sh && xargs cat <$sh/objects-$a >/dev/null) ||
						echo "# shared_cache $side: reading $a failed"
				else
					cfs-bench start $sh/list $ab >/dev/null || echo "# shared_cache $side: reading $a failed"
				fi
				if [ $a = a ]; then
					m1=$(awk '/^Cached:/ { print $2 }' /proc/meminfo)
					p1=$(awk '/^pgpgin / { print $2 }' /proc/vmstat)
				fi
			done
			m2=$(awk '/^Cached:/ { print $2 }' /proc/meminfo)
			p2=$(awk '/^pgpgin / { print $2 }' /proc/vmstat)
			echo "RUN shared_cache_a $side $((m1 - m0))"
			echo "RUN shared_cache_ab $side $((m2 - m0))"
			echo "RUN shared_cache_b $side $((m2 - m1))"
			echo "RUN shared_cache_read_b $side $((p2 - p1))"
			echo "RUN shared_cache_read_a $side $((p1 - p0))"
			[ $side = plain ] || [ $side = direct ] || for a in a b; do
				case $side in composefs) cfs-mount -u $M/sh/c$a ;; reference) cfs-mount -u $M/sh/r$a ;; esac
			done
		done
		r=$((r + 1))
	done
	rm -rf $S/plain-a $S/plain-b $S/store-sh $S/sh-a.cfs $S/sh-b.cfs $sh
}
