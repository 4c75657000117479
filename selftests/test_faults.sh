#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Faults and load (issue 6, part 3).
# - Store faults: a backing object deleted, replaced, truncated or made
#   unreadable while the image is mounted and while a file is open; the
#   basedir lazily unmounted under a mount; the image file truncated,
#   replaced or overwritten after mount. Each gives data or errors, never a
#   crash (vm-run fails on any kernel report), and an untouched store shared
#   by the other mounts is left exactly as it was.
# - Permissions as the unprivileged user nobody: modes are honoured, nobody
#   cannot mount (not even in a new user namespace).
# - Load for STRESS_SECONDS (default 15; `make stress`: 600): 4 x CPUs
#   walkers (readdir, lookup, stat, xattrs, read, mmap) over two mounts
#   sharing a store, random reads, a mount/unmount loop of a third image and
#   page/dentry/inode cache drops; every walk must see the same tree. Then
#   everything unmounts and the module unloads.
. ./lib.sh
load_module

fails() { ! "$@"; }
open3() { # FILE: open it on fd 3 (a failed exec redirection would end the shell)
	if cat "$1" >/dev/null 2>&1; then exec 3<"$1"; else exec 3</dev/null; echo "# cannot open $1"; fi
}
eio() { # FILE: reading it fails with EIO
	cat "$1" 2>&1 >/dev/null | grep -q 'Input/output error'
}

w=/scratch/faults
src=$w/src
rm -rf "$w"
mkdir -p "$src/sub" "$src/private" /mnt/f /mnt/f2 /mnt/f3 /mnt/store
for size in 1 100 4097 70000 300000; do
	head -c "$size" /dev/urandom >"$src/f$size"
done
echo secret >"$src/private/key"
chmod 700 "$src/private"
chmod 600 "$src/f100"
chmod 644 "$src/f4097" "$src/f70000" "$src/f300000"
cp "$src/f70000" "$src/sub/copy"
ln -s ../f4097 "$src/sub/link"
i=0
while [ $i -lt 50 ]; do
	echo "$i" >"$src/sub/n$i"
	i=$((i + 1))
done

# One store per fault scenario (faults damage their store), one pristine
# store shared by the load mounts.
verity_all() { # STORE: fs-verity on every object (EEXIST where mkcomposefs did it)
	find "$1" -type f | while read -r f; do cfs-verity enable "$f" >/dev/null 2>&1; done
	true
}
mk() { # NAME: image $w/NAME.cfs with store $w/store-NAME
	mkcomposefs --digest-store="$w/store-$1" "$src" "$w/$1.cfs" && verity_all "$w/store-$1"
}
mk pristine || { ktap_result fail "mkcomposefs"; ktap_finish; }
# A second image sharing that store, with one more file.
echo second >"$src/only-in-second"
mkcomposefs --digest-store="$w/store-pristine" "$src" "$w/second.cfs"
verity_all "$w/store-pristine"
rm "$src/only-in-second"
cp "$w/pristine.cfs" "$w/third.cfs"
obj_of() { # IMAGE PATH: the object path of a file in the image
	composefs-info dump "$1" | awk -v p="$2" '$1 == p { print $9 }'
}
mnt() { # IMAGE STORE TARGET [EXTRA_OPTS]
	cfs-mount -t composefs -o "basedir=$2$4" "$1" "$3"
}

mnt "$w/pristine.cfs" "$w/store-pristine" /mnt/f
rc=$?
if [ "$rc" = 95 ]; then
	echo "# mounting a valid image failed with EOPNOTSUPP: the filesystem cannot mount yet"
	skip "store faults, permissions and load" "mount is not implemented (EOPNOTSUPP)"
	check "rmmod composefs" rmmod composefs
	ktap_finish
fi
check "the image mounts (errno $rc)" [ "$rc" = 0 ]
cfs-walk /mnt/f >"$w/expected" 2>&1
check "the image walks without errors" fails grep err "$w/expected"
cfs-mount -u /mnt/f
mnt "$w/second.cfs" "$w/store-pristine" /mnt/f2
cfs-walk /mnt/f2 >"$w/expected2" 2>&1
cfs-mount -u /mnt/f2
store_state() { # STORE: every object's path, size, mode, mtime and digest
	(cd "$1" && find . -type f | sort | while read -r f; do
		echo "$f $(stat -c '%s %a %Y' "$f") $(md5sum <"$f")"
	done)
}
store_state "$w/store-pristine" >"$w/pristine.before"
faults=0

# --- kernel messages name the mount -----------------------------------------
# Messages about a mount name its superblock by the device number that
# /proc/self/mountinfo shows (as EROFS names its superblock, erofs_err in
# fs/erofs/super.c), so that with several mounts the log says which one: two
# mounts of one image, the second with a corrupt inode (i_format 0x00ff:
# bits images never use, no valid layout) and its redirect xattrs renamed
# (overlay.redirecx: metacopy files without a redirect).
dev_of() { # MOUNTPOINT: its MAJOR:MINOR, from mountinfo
	awk -v m="$1" '$5 == m { print $3 }' /proc/self/mountinfo
}
mk msg && cp "$w/msg.cfs" "$w/msg-bad.cfs"
mnt "$w/msg.cfs" "$w/store-msg" /mnt/f
nid=$(stat -c %i /mnt/f/f4097)
printf '\377\000' | dd of="$w/msg-bad.cfs" bs=1 seek=$((nid * 32)) conv=notrunc 2>/dev/null
strings -t d -n 16 "$w/msg-bad.cfs" | awk '{ i = index($2, "overlay.redirect"); if (i) print $1 + i - 1 + 15 }' |
	while read -r at; do printf x | dd of="$w/msg-bad.cfs" bs=1 seek="$at" conv=notrunc 2>/dev/null; done
mnt "$w/msg-bad.cfs" "$w/store-msg" /mnt/f2
d1=$(dev_of /mnt/f)
d2=$(dev_of /mnt/f2)
check "two mounts of one image have two devices ($d1, $d2)" sh -c "[ -n '$d1' ] && [ -n '$d2' ] && [ '$d1' != '$d2' ]"
sleep 5 # a fresh window of the module's message rate limit
check "the corrupt inode fails with EUCLEAN" sh -c "stat /mnt/f2/f4097 2>&1 | grep -q 'Structure needs cleaning'"
check "the good mount reads the same file" cmp -s /mnt/f/f4097 "$src/f4097"
dmesg | grep 'corrupt image' | tail -n 1 >"$w/msg.corrupt"
check "the corrupt-inode message names the mount's device, not the other's" \
	sh -c "grep -q 'composefs: (device $d2): corrupt image: .*(inode, nid $nid)' '$w/msg.corrupt' && ! grep -q '$d1' '$w/msg.corrupt'"
nid=$(stat -c %i /mnt/f/f70000) # the same image: the same nid in both mounts
check "a metacopy file without a redirect fails with EIO" eio /mnt/f2/f70000
dmesg | grep 'without a redirect' | tail -n 1 >"$w/msg.redirect"
check "the missing-redirect message names the mount's device and the inode" \
	grep -q "composefs: (device $d2): nid $nid: metacopy file without a redirect" "$w/msg.redirect"
cfs-mount -u /mnt/f2
cfs-mount -u /mnt/f
head -c 8192 /dev/zero >"$w/msg-zero.cfs"
check "an image of zeros does not mount" fails cfs-mount -t composefs "$w/msg-zero.cfs" /mnt/f
check "the invalid-image message names a device and the image" \
	sh -c "dmesg | grep -q 'composefs: (device 0:[0-9]*): $w/msg-zero.cfs: invalid image'"

# --- store faults ---------------------------------------------------------

mk del && mnt "$w/del.cfs" "$w/store-del" /mnt/f
o=$w/store-del/$(obj_of "$w/del.cfs" /f70000)
open3 /mnt/f/f70000
rm -f "$o"
faults=$((faults + 1))
check "object deleted while open: the open file still reads" sh -c "cat <&3 | cmp -s - $src/f70000"
exec 3<&-
echo 3 >/proc/sys/vm/drop_caches
check "object deleted while mounted: open fails" fails cat /mnt/f/f70000 2>/dev/null
check "object deleted: the other files still read" cmp -s /mnt/f/f4097 "$src/f4097"
cfs-walk /mnt/f >/dev/null 2>&1
check "object deleted: umount" cfs-mount -u /mnt/f

mk repl && mnt "$w/repl.cfs" "$w/store-repl" /mnt/f
o=$w/store-repl/$(obj_of "$w/repl.cfs" /f4097)
open3 /mnt/f/f4097
head -c 4097 /dev/urandom >"$o.new"
cfs-verity enable "$o.new" >/dev/null 2>&1
mv -f "$o.new" "$o"
faults=$((faults + 1))
check "object replaced while open: the open file reads the old data" sh -c "cat <&3 | cmp -s - $src/f4097"
exec 3<&-
echo 3 >/proc/sys/vm/drop_caches
check "object replaced (other content, verity on): open fails with EIO" eio /mnt/f/f4097
o=$w/store-repl/$(obj_of "$w/repl.cfs" /f300000)
head -c 1000 "$o" >"$o.new" && mv -f "$o.new" "$o"
faults=$((faults + 1))
check "object replaced by a truncated copy without verity: EIO" eio /mnt/f/f300000
cfs-walk /mnt/f >/dev/null 2>&1
check "object replaced: umount" cfs-mount -u /mnt/f
# The same truncated object with verity=off: read as the reference reads it
# (overlayfs checks no size: the object's 1000 bytes), also past its end.
mnt "$w/repl.cfs" "$w/store-repl" /mnt/f ",verity=off"
ref_mount "$w/repl.cfs" /mnt/f2 "$w/store-repl" ",verity=off"
for m in /mnt/f /mnt/f2; do
	echo "$(read_result $m/f300000) $(dd if=$m/f300000 bs=4096 skip=60 count=4 2>/dev/null | wc -c)"
done >"$w/trunc-off.txt"
sed 's/^/# truncated object, verity=off (composefs, reference): /' "$w/trunc-off.txt"
check "truncated object with verity=off: read as on the reference" \
	[ "$(sed -n 1p "$w/trunc-off.txt")" = "$(sed -n 2p "$w/trunc-off.txt")" ]
ref_umount /mnt/f2
check "truncated object with verity=off: umount" cfs-mount -u /mnt/f
faults=$((faults + 1))

# Objects replaced or deleted after a first open, the inode still in memory
# (a second open while the first is open, and one after it was closed):
# overlayfs looks a metacopy file's data up once per inode and keeps it
# (ovl_maybe_lookup_lowerdata, fs/overlayfs/namei.c), so it goes on reading
# the object it found first. Each stack on its own copy of the store.
for stack in ref cfs; do
	mk "between-$stack"
	st=$w/store-between-$stack
	if [ $stack = ref ]; then
		ref_mount "$w/between-$stack.cfs" /mnt/f "$st" ",verity=on"
	else
		mnt "$w/between-$stack.cfs" "$st" /mnt/f
	fi
	cat /mnt/f/f4097 /mnt/f/f70000 >/dev/null
	exec 4</mnt/f/f4097
	o=$st/$(obj_of "$w/between-$stack.cfs" /f4097)
	head -c 4097 /dev/urandom >"$o.new"
	cfs-verity enable "$o.new" >/dev/null 2>&1
	mv -f "$o.new" "$o"
	rm -f "$st/$(obj_of "$w/between-$stack.cfs" /f70000)"
	{
		echo "replaced, open again while open: $(read_result /mnt/f/f4097)"
		echo "deleted, open again after close: $(read_result /mnt/f/f70000)"
		# Every remount shrinks the superblock's dcache first
		# (reconfigure_super, fs/super.c), and overlayfs frees an unused
		# inode at once (inode_just_drop): the object is looked up again.
		mount -o remount,ro /mnt/f
		echo "deleted, open again after a remount: $(read_result /mnt/f/f70000)"
		echo "replaced and still open, after a remount: $(read_result /mnt/f/f4097)"
	} >"$w/between.$stack"
	exec 4<&-
	cfs-mount -u /mnt/f
done
faults=$((faults + 4))
sed 's/^/# reference: /' "$w/between.ref"
same_output "objects replaced or deleted after a first open: as on the reference" \
	"$w/between.ref" "$w/between.cfs"

mk perm && mnt "$w/perm.cfs" "$w/store-perm" /mnt/f
ref_mount "$w/perm.cfs" /mnt/f2 "$w/store-perm" ",verity=on"
o=$w/store-perm/$(obj_of "$w/perm.cfs" /f70000)
chmod 000 "$o"
faults=$((faults + 1))
as_nobody_result() { # FILE: what reading FILE as nobody gives (as read_result)
	su nobody -s /bin/sh -c "cat '$1' >/dev/null 2>/tmp/nobody.err && echo data || echo \"error \$(sed 's/.*: //' /tmp/nobody.err)\""
}
cfs="$(read_result /mnt/f/f70000); $(as_nobody_result /mnt/f/f70000)"
ref="$(read_result /mnt/f2/f70000); $(as_nobody_result /mnt/f2/f70000)"
echo "# object made unreadable (root; nobody): reference: $ref; composefs: $cfs"
check "object made unreadable: root and nobody read it as on the reference" [ "$ref" = "$cfs" ]
ref_umount /mnt/f2
check "object made unreadable: umount" cfs-mount -u /mnt/f

mk bind && mount --bind "$w/store-bind" /mnt/store && mnt "$w/bind.cfs" /mnt/store /mnt/f
open3 /mnt/f/f300000
umount -l /mnt/store
faults=$((faults + 1))
check "basedir detached while open: the open file still reads" sh -c "cat <&3 | cmp -s - $src/f300000"
exec 3<&-
echo 3 >/proc/sys/vm/drop_caches
cfs-walk /mnt/f >/dev/null 2>&1
check "basedir detached: umount" cfs-mount -u /mnt/f

mk trunc && mnt "$w/trunc.cfs" "$w/store-trunc" /mnt/f
open3 /mnt/f/sub/n7
echo 3 >/proc/sys/vm/drop_caches
# The module may deny writes to a mounted image (ETXTBSY); if it does not,
# it must survive the image shrinking under it.
if truncate -s 8192 "$w/trunc.cfs" 2>/dev/null; then
	faults=$((faults + 1))
	cfs-walk /mnt/f >/dev/null 2>&1
	ls -lR /mnt/f >/dev/null 2>&1
	cat <&3 >/dev/null 2>&1
	exec 3<&-
	truncate -s 0 "$w/trunc.cfs"
	echo 3 >/proc/sys/vm/drop_caches
	cfs-walk /mnt/f >/dev/null 2>&1
	faults=$((faults + 1))
	check "image truncated after mount: umount" cfs-mount -u /mnt/f
else
	echo "# the mounted image cannot be truncated: $(truncate -s 8192 "$w/trunc.cfs" 2>&1)"
	check "image write-protected while mounted: it still walks" sh -c "cfs-walk /mnt/f >/dev/null"
	cat <&3 >/dev/null 2>&1
	exec 3<&-
	cfs-mount -u /mnt/f
	check "image writable again after umount" truncate -s 8192 "$w/trunc.cfs"
fi

# The mounted image cannot be written in place (composefs denies writes to
# it while it is mounted), so it cannot change under the mount that way.
mk over && mnt "$w/over.cfs" "$w/store-over" /mnt/f
cfs-walk /mnt/f >"$w/over.before" 2>&1
check "writing the mounted image in place is refused" \
	sh -c "! dd if=/dev/zero of='$w/over.cfs' bs=1 seek=2000 count=64 conv=notrunc 2>/dev/null"
echo 3 >/proc/sys/vm/drop_caches
cfs-walk /mnt/f >"$w/over.after" 2>&1
same_output "the mount walks as before the refused write" "$w/over.before" "$w/over.after"
cfs-mount -u /mnt/f

mk renamed && mnt "$w/renamed.cfs" "$w/store-renamed" /mnt/f
cfs-walk /mnt/f >"$w/renamed.before" 2>&1
cp "$w/pristine.cfs" "$w/other.cfs"
truncate -s 4096 "$w/other.cfs"
mv -f "$w/other.cfs" "$w/renamed.cfs"
faults=$((faults + 1))
echo 3 >/proc/sys/vm/drop_caches
cfs-walk /mnt/f >"$w/renamed.walk" 2>&1
same_output "image replaced by rename after mount: the mount keeps the old image" "$w/renamed.before" "$w/renamed.walk"
cfs-mount -u /mnt/f
echo "# $faults store and image faults injected"

# --- permissions -----------------------------------------------------------
mnt "$w/pristine.cfs" "$w/store-pristine" /mnt/f
as_nobody() { su nobody -s /bin/sh -c "$*" >/dev/null 2>&1; }
if su nobody -s /bin/sh -c true 2>/dev/null; then
	check "nobody reads a 0644 file" as_nobody cat /mnt/f/f4097
	check "nobody cannot read a 0600 file" fails as_nobody cat /mnt/f/f100
	check "root reads the 0600 file" cmp -s /mnt/f/f100 "$src/f100"
	check "nobody cannot list a 0700 directory" fails as_nobody ls /mnt/f/private
	check "nobody cannot look up in a 0700 directory" fails as_nobody cat /mnt/f/private/key
	check "nobody follows a symlink to a readable file" as_nobody cat /mnt/f/sub/link
	check "nobody cannot mount composefs" fails as_nobody cfs-mount -t composefs -o "basedir=$w/store-pristine" "$w/pristine.cfs" /mnt/f2
	if as_nobody unshare -Urm true; then
		check "nobody cannot mount composefs in a user namespace" \
			fails as_nobody unshare -Urm cfs-mount -t composefs -o "basedir=$w/store-pristine" "$w/pristine.cfs" /mnt/f2
	else
		skip "nobody cannot mount composefs in a user namespace" "no unprivileged user namespaces in this kernel"
	fi
else
	skip "permissions as nobody" "su nobody does not work in this guest"
fi
cfs-mount -u /mnt/f

# --- load ------------------------------------------------------------------
secs=${STRESS_SECONDS:-15}
n=$((4 * $(nproc)))
mnt "$w/pristine.cfs" "$w/store-pristine" /mnt/f
mnt "$w/second.cfs" "$w/store-pristine" /mnt/f2
slab0=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
end=$(($(date +%s) + secs))
echo "# load: $n walkers, a mount loop and cache drops for ${secs}s"
i=0
while [ $i -lt $n ]; do
	(
		m=/mnt/f exp=$w/expected
		[ $((i % 2)) = 1 ] && m=/mnt/f2 exp=$w/expected2
		walks=0 bad=0 reads=0
		while [ "$(date +%s)" -lt "$end" ]; do
			cfs-walk "$m" >"$w/walk.$i" 2>&1
			cmp -s "$w/walk.$i" "$exp" || { bad=$((bad + 1)); cp "$w/walk.$i" "$w/bad.$i"; }
			walks=$((walks + 1))
			for f in f1 f4097 f70000 sub/n$((RANDOM % 50)) sub/copy; do
				cat "$m/$f" >/dev/null || bad=$((bad + 1))
				reads=$((reads + 1))
			done
		done
		echo "$walks $bad $reads" >"$w/load.$i"
	) &
	i=$((i + 1))
done
(
	cycles=0 bad=0
	while [ "$(date +%s)" -lt "$end" ]; do
		if mnt "$w/third.cfs" "$w/store-pristine" /mnt/f3 2>/dev/null; then
			cat /mnt/f3/sub/n1 >/dev/null || bad=$((bad + 1))
			cfs-mount -u /mnt/f3 || bad=$((bad + 1))
		else
			bad=$((bad + 1))
		fi
		cycles=$((cycles + 1))
	done
	echo "$cycles $bad" >"$w/mounter"
) &
(
	while [ "$(date +%s)" -lt "$end" ]; do
		echo 3 >/proc/sys/vm/drop_caches
		sleep 1
	done
) &
wait
walks=$(cat "$w"/load.* | awk '{ s += $1 } END { print s }')
bad=$(cat "$w"/load.* | awk '{ s += $2 } END { print s }')
reads=$(cat "$w"/load.* | awk '{ s += $3 } END { print s }')
read -r cycles mbad <"$w/mounter"
echo "# load: $walks full walks, $reads reads, $cycles mount/unmount cycles"
for f in "$w"/bad.*; do
	[ -e "$f" ] && diff "$w/expected" "$f" | head -n 5 | sed 's/^/# /'
	[ -e "$f" ] && diff "$w/expected2" "$f" | head -n 5 | sed 's/^/# /'
done
check "walkers under load all saw the same tree ($walks walks)" [ "$bad" = 0 ]
check "mount/unmount loop under load ($cycles cycles)" [ "$mbad" = 0 ]

# Memory pressure: walkers confined to a memory cgroup with a tiny memory.high, so the page
# cache and reclaimable objects are reclaimed under them and read again.
cg=/sys/fs/cgroup
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none $cg 2>/dev/null
if [ -e $cg/cgroup.controllers ] && grep -qw memory $cg/cgroup.controllers; then
	echo +memory >$cg/cgroup.subtree_control
	mkdir -p $cg/cfs-pressure
	# memory.high reclaims (and throttles) above 1 MiB without OOM kills.
	echo $((1024 * 1024)) >$cg/cfs-pressure/memory.high
	pend=$(($(date +%s) + secs / 2 + 5))
	i=0
	while [ $i -lt 4 ]; do
		(
			# This subshell's own pid ($$ is the parent shell's).
			read -r me _ </proc/self/stat
			echo "$me" >$cg/cfs-pressure/cgroup.procs
			m=/mnt/f exp=$w/expected
			[ $((i % 2)) = 1 ] && m=/mnt/f2 exp=$w/expected2
			walks=0 bad=0
			while [ "$(date +%s)" -lt "$pend" ]; do
				cfs-walk "$m" >"$w/pwalk.$i" 2>&1
				cmp -s "$w/pwalk.$i" "$exp" || { bad=$((bad + 1)); cp "$w/pwalk.$i" "$w/pbad.$i"; }
				walks=$((walks + 1))
			done
			echo "$walks $bad" >"$w/pload.$i"
		) &
		i=$((i + 1))
	done
	wait
	pwalks=$(cat "$w"/pload.* | awk '{ s += $1 } END { print s }')
	pbad=$(cat "$w"/pload.* | awk '{ s += $2 } END { print s }')
	echo "# memory pressure: $pwalks walks in a memcg with memory.high=1M; $(grep -E '^(pgscan|pgsteal|workingset_refault_file) ' $cg/cfs-pressure/memory.stat | tr '\n' ' ')"
	check "walkers under memory.high=1M see the same tree ($pwalks walks)" [ "$pbad" = 0 ]
	rmdir $cg/cfs-pressure 2>/dev/null
else
	skip "walkers under a memory cgroup limit" "no cgroup2 memory controller"
fi
check "unmount after load" sh -c 'cfs-mount -u /mnt/f && cfs-mount -u /mnt/f2'
store_state "$w/store-pristine" >"$w/pristine.after"
same_output "the shared store is unmodified" "$w/pristine.before" "$w/pristine.after"
echo 3 >/proc/sys/vm/drop_caches
check "rmmod composefs after faults and load" rmmod composefs
slab1=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
echo "# slab: ${slab0} kB before the load, ${slab1} kB after rmmod"
ktap_finish
