#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: composefs against EROFS + overlayfs, side by side in one guest.
#
# How to run
#   make bench                   builds what it needs (bench kernel, module,
#                                tools, guest helpers) and runs everything
#   BENCH_RUNS=5                 runs per measurement (each value is the median)
#   BENCH_ENTRIES=50000          size of the generated image
#   BENCH_SEED=1                 seed of the generated tree (deterministic)
#   BENCH_CYCLES=200             mount/umount cycles per run
#   BENCH_BIG=4:8                large files for the read tests (COUNT:MiB)
#   BENCH_HOST=0                 skip the host mkcomposefs measurements
#   BENCH_HOST_ENTRIES=100000    entries of the host's generated tree (and dump)
#   BENCH_HOST_MIB=1024          size of the host's tree: cfs-bench gen's files
#                                plus mixed 16 KiB..32 MiB files up to this
#   BENCH_HOST_RUNS=$BENCH_RUNS  interleaved runs per tool on the host
#   BENCH_REAL=0                 skip the real tree (the kernel source's include/)
#   BENCH_GUEST=0                skip the guest
#   BENCH_SETS=main,real,mount_scale,lookup_bigdir,many_mounts,shared_cache,container_start,walk_cold_parallel,insns
#                                the guest's groups of metrics to run (default
#                                all of them; e.g. BENCH_SETS=many_mounts runs
#                                only that, on a small generated image; insns
#                                runs in a second guest, see walk_cold_insns)
#   BENCH_HUGE=1                 add the 1,000,000-entry sizes of mount_scale
#                                and lookup_bigdir (off by default: building
#                                them takes minutes under TCG)
#   BENCH_MANY=1000              images many_mounts mounts at once
#   BENCH_TIMEOUT=3600           seconds before the guest is killed
#   BENCH_MODULE_REV=<commit>    build the module from that commit's src/
#                                instead of the work tree (by default the work
#                                tree, falling back to HEAD if it does not build)
# Output: one line per metric, as DESIGN.md defines it:
#   BENCH name=<metric> composefs=<v> reference=<v> unit=<u> ratio=<composefs/reference> spread=<min>-<max>
# value = median of the runs, spread = min-max of composefs's runs; then a
# table. build/bench/ keeps results.txt, results.md (table), results.png
# (ratio per metric against its target), the raw guest/host logs and the
# guest's kernel log. If composefs cannot be mounted, its values are nan and a
# "# composefs: mount failed: <errno>" line says why.
#
# Workload: `cfs-bench gen` (selftests/cfs-bench.c) builds a tree shaped like
# an OS image (on the host, which builds the image and store that the guest
# finds on /scratch, ext4 with verity, and in the guest on tmpfs: the warm
# walk's floor; see prep_images below): ~50,000
# entries, ~4,000 directories of 1..5,000 entries up to 12 levels deep, ~35,000
# regular files (mostly 65 B..8 KiB external objects, some inline-sized, a few
# up to 1 MiB, ~10% duplicate contents), ~11,000 symlinks, some fifos,
# security.selinux on ~90% of entries, user.* xattrs on some files, plus 4
# large files. The project's mkcomposefs --digest-store turns it into the
# image and a store; the guest enables fs-verity on every object.
#
# What the metrics mean (ratio = composefs / reference; lower is better
# unless said):
#   mount_umount       us per mount + umount cycle, CYCLES cycles in one process
#                      (cfs-bench mount, like cfs-mount -b). Reference: EROFS mount + overlay mount +
#                      detach of EROFS + overlay umount. Target <= 0.5.
#   walk_cold          ms to readdir + lstat every entry on a fresh mount after
#                      drop_caches (cfs-bench walk). Target <= 0.45.
#   walk_cold_vs_erofs the same runs, reference = EROFS alone. Target <= 1.0.
#   walk_warm          the walk repeated on one mount, warm caches. Target <= 0.5.
#                      Also printed: EROFS alone, and the source tree on tmpfs
#                      (the floor: no image, no stacking).
#   open_close         ms to open + close every regular file on a fresh mount
#                      whose dentries were warmed by a walk (includes the
#                      fs-verity digest check). Target <= 0.7.
#   read_seq           MiB/s reading the large files with read(2), 128 KiB at a
#                      time, cold cache; reference = the store's objects read
#                      directly. Higher is better; target >= 0.97.
#   mmap_read          the same through mmap (one load per 64 bytes). >= 0.97.
#   mem_inodes         KiB of slab (sum of active_objs * objsize in
#                      /proc/slabinfo) gained by a fresh mount plus one walk of
#                      every entry, after drop_caches. Target <= 0.6.
#   mkcomposefs_dump   host, ms: the project's mkcomposefs --from-file against
#                      Debian's upstream mkcomposefs 1.0.8 on the same dump of
#                      ~100,000 entries (the host tree's). Target <= 1.0.
#   mkcomposefs_store  host, ms: image + --digest-store from the host tree:
#                      `cfs-bench gen` with BENCH_HOST_ENTRIES entries plus
#                      mixed files of 16 KiB..32 MiB (log-uniform sizes) up to
#                      1 GiB in all (fresh store on tmpfs each run, so no
#                      fs-verity, and disk writeback does not count), project
#                      against upstream, runs of the two interleaved, after an
#                      untimed warm-up run of each. Target <= 0.67 (1.5x).
#   *_real             walk_cold, walk_cold_vs_erofs, walk_warm, open_close and
#                      mem_inodes again on a real tree: the kernel source's
#                      include/ (~7,000 entries, no xattrs), same method.
# How the cost grows (selftests/bench/scale.sh). Trees too big for /scratch's
# inodes are dump files (cfs-bench gendump) whose files are backed by a few
# real objects; "_vs_erofs" lines are EROFS alone, the floor, no target.
#   walk_warm_vs_tmpfs walk_warm against the same tree on tmpfs (the floor),
#                      all sides mounted and their runs interleaved. <= 1.05.
#                      _vs_erofs: against EROFS alone in the same runs.
#   mount_scale_<size> mount_umount on images of 10k and 100k entries (1m
#                      with BENCH_HUGE=1), 1,000 files per directory. <= 0.5.
#   mount_scale_growth_<size>  composefs at that size against composefs at
#                      10k: mount time must not grow with the image. <= 1.2.
#   lookup_bigdir      us per cold lstat of 2,000 random names in one directory
#                      of 100,000 entries, fresh mount after drop_caches.
#                      <= 0.5. _1m (BENCH_HUGE=1) likewise. lookup_bigdir_1k
#                      (all 1,000 names, random order): the growth rows' base,
#                      no target.
#   lookup_bigdir_growth_<size>  composefs's per-lookup time at that size
#                      against 1k: grows at most logarithmically. <= 2.5.
#   walk_cold_parallel the walk_cold walk by 2 processes splitting the top two
#                      levels between them (disjoint subtrees). <= 0.45.
#                      _same: both walk the whole tree. <= 0.45.
#   walk_cold_parallel_speedup  walk_cold / walk_cold_parallel, per side;
#                      ratio = composefs's speed-up / the reference's. >= 1.0.
#   walk_cold_parallel_speedup_vs_erofs  the same against EROFS alone's speed-up
#                      (the floor; no target).
#   walk_cold_insns    the walk's CPU work in millions of instructions: a
#                      second guest (one vCPU, VM_ICOUNT=1, whose clock counts
#                      the instructions it executes) walks each side after
#                      `echo 2 > drop_caches` (dentries and inodes cold, the
#                      image's pages cached: waiting for I/O would count no
#                      instructions but jump the clock to its next timer).
#                      The same from run to run, where the timed walks spread
#                      by a factor of two under TCG. No target: it shows the
#                      work the timed rows measure. _vs_erofs: EROFS alone.
#   many_mounts        ms to mount BENCH_MANY distinct images of 200 entries
#                      (one store), left mounted together. <= 0.5.
#   many_mounts_mem    KiB per mounted image (slab + page cache above the
#                      baseline) after each was walked once and the caches
#                      dropped twice. <= 0.4. (_vs_erofs: EROFS alone, in the
#                      first run only.)
#   many_mounts_slab_left  KiB of slab above the baseline after unmounting
#                      them all; composefs <= 1024 KiB. many_mounts_cfs_inode_left:
#                      the composefs_inode cache, <= 0 (needs /proc/slabinfo);
#                      many_mounts_inodes_left: fs.inode-nr (information).
#   shared_cache       page cache (KiB) after reading every file of tree A and
#                      then of tree B (90% of B's objects are A's) against
#                      after A alone, composefs. <= 1.15. shared_cache_reference:
#                      the same on the reference stack; shared_cache_unshared:
#                      the two trees as plain files on ext4 (what sharing
#                      saves; first run only);
#                      shared_cache_floor: the images and objects read directly
#                      (cat), with fs-verity; shared_cache_b_vs_direct: what
#                      reading B added, composefs against reading it directly.
#   container_start    ms for 4 processes, each on its own fresh mount of the
#                      generated image after drop_caches, to open + read +
#                      close the same ~3,000 files (.so files, config files,
#                      the 100 largest others). <= 0.75. _vs_direct: against
#                      the store's objects read directly (the floor).
#                      _vs_erofs_direct: against each file looked up and
#                      opened on its own EROFS mount of the image, then its
#                      object read directly (the floor of an image-based
#                      filesystem).
# Extra "# <metric> erofs|reference: median ..." lines give the other sides.
# Timing: the bench kernel under TCG only has a jiffies clocksource (4 ms
# steps), so the guest calibrates the TSC against it over 2 s (cfs-bench
# calibrate) and every timer reads rdtsc, which follows the host's TSC.
. "$(dirname "$0")/common.sh"

RUNS=${BENCH_RUNS:-5}
ENTRIES=${BENCH_ENTRIES:-50000}
SEED=${BENCH_SEED:-1}
CYCLES=${BENCH_CYCLES:-200}
BIG=${BENCH_BIG:-4:8}
SETS=${BENCH_SETS:-main,real,mount_scale,lookup_bigdir,many_mounts,shared_cache,container_start,walk_cold_parallel,insns}
# The sets of the main guest; insns runs in a guest of its own.
GUEST_SETS=$(echo ",$SETS," | sed 's/,insns,/,/g; s/^,//; s/,$//')
out=$PROJECT_ROOT/build/bench
mkdir -p "$out"
cd "$PROJECT_ROOT"

# ---- build ----
"$PROJECT_ROOT/scripts/build-kernel.sh" bench >/dev/null
if ! make -s tools selftests >&2; then
	log "make tools selftests failed; going on with what build/bin has"
fi
for b in mkcomposefs composefs-info cfs-mount cfs-bench; do
	[ -x "build/bin/$b" ] || { log "build/bin/$b missing"; exit 1; }
done

# Build the module from a commit's Makefile, Kconfig and src/ (with that
# commit's scripts), in build/bench/rev/.
module_from_rev() {
	local rev=$1 dir=$out/rev
	log "building the bench module from $rev"
	mkdir -p "$dir"
	rm -rf "$dir/src" "$dir/scripts" "$dir/selftests"
	git -C "$PROJECT_ROOT" archive "$rev" Makefile Kconfig src scripts selftests/config |
		tar -x -C "$dir" || return 1
	"$dir/scripts/build-module.sh" bench >&2 || return 1
	cp "$dir/build/bench/composefs.ko" "$out/composefs.ko"
}
module_note=
if [ -n "${BENCH_MODULE_REV:-}" ]; then
	module_from_rev "$BENCH_MODULE_REV" || { log "module build failed"; exit 1; }
	module_note="module from $(git rev-parse --short "$BENCH_MODULE_REV")"
elif scripts/build-module.sh bench >&2; then
	module_note="module from the work tree (HEAD $(git rev-parse --short HEAD))"
else
	log "the work tree's module does not build; falling back to HEAD"
	if module_from_rev HEAD; then
		module_note="module from HEAD $(git rev-parse --short HEAD) (work tree did not build)"
	else
		module_note="neither the work tree nor HEAD builds: using the last build/bench/composefs.ko"
	fi
fi
log "$module_note"

# ---- host: mkcomposefs, project against upstream ----
HOST_ENTRIES=${BENCH_HOST_ENTRIES:-100000}
HOST_MIB=${BENCH_HOST_MIB:-1024}
HOST_RUNS=${BENCH_HOST_RUNS:-$RUNS}

# Adds files of mixed sizes (16 KiB..32 MiB, log-uniform, random contents,
# deterministic from the seed) under DIR until they hold BYTES bytes; prints
# how many.
gen_mixed() {
	python3 - "$1" "$2" "$3" <<'EOF'
import os, random, sys
root, seed, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
done = i = 0
while done < target:
    size = min(int(2 ** rng.uniform(14, 25)), target - done)
    d = os.path.join(root, "d%02d" % (i % 16))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "blob%04d.bin" % i), "wb") as f:
        f.write(rng.randbytes(size))
    done += size
    i += 1
print(i)
EOF
}

# One timed run of a command: prints "RUN <metric> <tool> <ms>".
host_run() {
	local metric=$1 tool=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	"$@" || echo "# host: $tool failed: $*"
	t1=$(date +%s%N)
	echo "RUN $metric $tool $(((t1 - t0) / 1000))" | sed 's/\([0-9]\{3\}\)$/.\1/'
}

host_bench() {
	local oracle proj=$PROJECT_ROOT/build/bin/mkcomposefs work=$out/host r tool bin bytes nmixed shm
	oracle=$("$PROJECT_ROOT/scripts/fetch-oracle.sh")
	rm -rf "$work"
	mkdir -p "$work"
	"$PROJECT_ROOT/build/bin/cfs-bench" gen -s "$SEED" -n "$HOST_ENTRIES" "$work/tree" \
		>/dev/null 2>"$work/gen.log"
	bytes=$(sed -n 's/.* files (\([0-9]*\) bytes.*/\1/p' "$work/gen.log")
	nmixed=$(gen_mixed "$work/tree/opt/mixed" "$SEED" $((HOST_MIB * 1048576 - ${bytes:-0})))
	sync -f "$work/tree"
	"$proj" "$work/tree" "$work/img.cfs"
	"$PROJECT_ROOT/build/bin/composefs-info" dump "$work/img.cfs" >"$work/dump"
	echo "# host: $(nproc) cpus; dump of $(wc -l <"$work/dump") entries;" \
		"tree of $HOST_ENTRIES entries + $nmixed mixed files of 16 KiB..32 MiB," \
		"$HOST_MIB MiB of file data; stores on tmpfs; $HOST_RUNS runs"
	# The stores go to tmpfs: on the shared disk, writeback and fsync noise
	# swamp the tools' own cost. One untimed run of each first.
	shm=$(mktemp -d /dev/shm/cfs-bench.XXXXXX)
	for tool in project upstream; do
		bin=$proj
		[ $tool = upstream ] && bin=$oracle/mkcomposefs
		"$bin" --digest-store="$shm/store-$tool" "$work/tree" "$work/st-$tool.cfs"
	done
	for r in $(seq "$HOST_RUNS"); do
		for tool in project upstream; do
			bin=$proj
			[ $tool = upstream ] && bin=$oracle/mkcomposefs
			host_run mkcomposefs_dump $tool "$bin" --from-file "$work/dump" "$work/out-$tool.cfs"
			rm -rf "$shm/store-$tool"
			host_run mkcomposefs_store $tool \
				"$bin" --digest-store="$shm/store-$tool" "$work/tree" "$work/st-$tool.cfs"
		done
	done
	cmp -s "$work/out-project.cfs" "$work/out-upstream.cfs" &&
		cmp -s "$work/st-project.cfs" "$work/st-upstream.cfs" ||
		echo "# host: WARNING: project and upstream images differ"
	diff -rq "$shm/store-project" "$shm/store-upstream" >/dev/null ||
		echo "# host: WARNING: project and upstream stores differ"
	rm -rf "$work" "$shm"
}
: >"$out/host.log"
if [ "${BENCH_HOST:-1}" != 0 ]; then
	log "host: mkcomposefs, project against upstream ($HOST_RUNS runs)"
	host_bench | tee "$out/host.log"
fi

# ---- what the guest starts from ----
# Under TCG, mkcomposefs in the guest (which writes and fsyncs each object)
# took four minutes for the generated image's store, the 1,000 images of
# many_mounts three: the host builds the images, stores and trees the guest
# only reads, into DIR, which becomes the guest's /scratch (vm-run
# --scratch-from). The guest enables fs-verity on the stores.
#
# prep_images DIR [REAL_TREE]: the generated workload's image and store
# (img.cfs, store/; from `cfs-bench gen` with the guest's seed and size, the
# tree the guest generates again on its tmpfs), the real tree's (real.cfs,
# store-real/), and what the scale sets use: the template (8 objects of
# fixed sizes and seeded contents: store-scale/, tmpl.cfs, tmpl.dump) the
# generated dumps point into, many_mounts' images of 200 entries
# (many/imgNNNN.cfs), and shared_cache's two trees as plain files (plain-a/,
# plain-b/: B is A with every tenth regular file changed) with their images
# and shared store (sh-a.cfs, sh-b.cfs, store-sh/).
prep_images() {
	local dir=$1 bin=$PROJECT_ROOT/build/bin i a
	rm -rf "$dir"
	mkdir -p "$dir/tmpl" "$dir/many"
	"$bin/cfs-bench" gen -s "$SEED" -n "$ENTRIES" -b "$BIG" "$dir/src" >/dev/null 2>&1
	"$bin/mkcomposefs" --quiet --digest-store="$dir/store" "$dir/src" "$dir/img.cfs"
	rm -rf "$dir/src"
	if [ -n "${2:-}" ]; then
		"$bin/mkcomposefs" --quiet --digest-store="$dir/store-real" "$2" "$dir/real.cfs"
	fi
	python3 - "$dir/tmpl" <<'EOF'
import random, sys
rng = random.Random(18)
for i, size in enumerate([900, 2100, 4096, 7000, 12000, 33000, 70000, 150000], 1):
    with open("%s/o%d" % (sys.argv[1], i), "wb") as f:
        f.write(rng.randbytes(size))
EOF
	"$bin/mkcomposefs" --quiet --digest-store="$dir/store-scale" "$dir/tmpl" "$dir/tmpl.cfs"
	"$bin/composefs-info" dump "$dir/tmpl.cfs" >"$dir/tmpl.dump"
	rm -rf "$dir/tmpl"
	case ",$SETS," in
	*,many_mounts,*)
		for ((i = 0; i < ${BENCH_MANY:-1000}; i++)); do
			printf -v a %04d "$i"
			"$bin/cfs-bench" gendump -x -n 200 -f 50 -t "m$a-" "$dir/tmpl.dump" |
				"$bin/mkcomposefs" --from-file - "$dir/many/img$a.cfs"
		done ;;
	esac
	case ",$SETS," in
	*,shared_cache,*)
		"$bin/cfs-bench" gen -s 7 -n 6000 -b 8:1 "$dir/plain-a" >/dev/null 2>&1
		cp -a "$dir/plain-a" "$dir/plain-b"
		(cd "$dir/plain-b" && find . -type f | LC_ALL=C sort | awk 'NR % 10 == 0' |
			while read -r f; do echo changed >>"$f"; done)
		"$bin/mkcomposefs" --quiet --digest-store="$dir/store-sh" "$dir/plain-a" "$dir/sh-a.cfs"
		"$bin/mkcomposefs" --quiet --digest-store="$dir/store-sh" "$dir/plain-b" "$dir/sh-b.cfs" ;;
	esac
}

# ---- guest ----
: >"$out/guest.log"
: >"$out/guest-insns.log"
prepped=0
if [ "${BENCH_GUEST:-1}" != 0 ] && [ -n "$GUEST_SETS" ]; then
	log "guest: bench kernel, $ENTRIES entries, $RUNS runs (TCG, 2 vCPUs: about 25 minutes for every set)"
	echo "# $module_note" | tee "$out/guest.log"
	# The real tree: the kernel source's include/ (headers, symlinks).
	realdir=
	case ",$SETS," in *,real,*) ;; *) BENCH_REAL=0 ;; esac
	if [ "${BENCH_REAL:-1}" != 0 ]; then
		ksrc=$("$PROJECT_ROOT/scripts/fetch-kernel.sh")
		realdir=$out/realtree
		mkdir -p "$realdir"
		rsync -a --delete "$ksrc/include" "$realdir/"
		echo "# real tree: $(basename "$ksrc")/include" | tee -a "$out/guest.log"
	fi
	# The images and stores the guest reads, its /scratch.
	prep_images "$out/prep" "$realdir"
	prepped=1
	set +e
	COMPOSEFS_KO=$out/composefs.ko "$PROJECT_ROOT/selftests/vm-run" --kernel bench \
		--timeout "${BENCH_TIMEOUT:-3600}" --attach "$PROJECT_ROOT/selftests/bench" \
		--scratch-from "$out/prep" -- \
		sh /attach/bench/guest.sh "$RUNS" "$ENTRIES" "$SEED" "$CYCLES" "$BIG" \
		"$GUEST_SETS" \
		"${BENCH_HUGE:-0}" "${BENCH_MANY:-1000}" \
		2>"$out/console.log" | tee -a "$out/guest.log"
	rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" != 0 ]; then
		log "guest exited with status $rc; kernel log in $out/console.log"
		grep -A20 'vm-run:' "$out/console.log" | head -n 40 >&2 || true
	fi
fi

# ---- the walk's instruction counts: a second guest, clock on icount ----
case ",$SETS," in *,insns,*) insns=1 ;; *) insns=0 ;; esac
if [ "${BENCH_GUEST:-1}" != 0 ] && [ "$insns" = 1 ]; then
	log "guest: instruction counts of the walk (VM_ICOUNT=1, 1 vCPU: about 3 minutes)"
	[ "$prepped" = 1 ] || prep_images "$out/prep"
	set +e
	VM_ICOUNT=1 VM_CPUS=1 COMPOSEFS_KO=$out/composefs.ko "$PROJECT_ROOT/selftests/vm-run" \
		--kernel bench --timeout "${BENCH_TIMEOUT:-3600}" \
		--attach "$PROJECT_ROOT/selftests/bench" --scratch-from "$out/prep" -- \
		sh /attach/bench/guest.sh "$RUNS" "$ENTRIES" "$SEED" "$CYCLES" "$BIG" insns \
		2>"$out/console-insns.log" | tee "$out/guest-insns.log"
	irc=${PIPESTATUS[0]}
	set -e
	if [ "$irc" != 0 ]; then
		log "instruction-count guest exited with status $irc; kernel log in $out/console-insns.log"
		[ "${rc:-0}" != 0 ] || rc=$irc
	fi
fi

# ---- report ----
echo
python3 "$PROJECT_ROOT/selftests/bench/report.py" "$out" "$out/guest.log" "$out/guest-insns.log" "$out/host.log"
[ -e "$out/results.png" ] && log "plot: $out/results.png"
exit "${rc:-0}"
