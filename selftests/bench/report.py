#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark's raw "RUN <metric> <side> <value>" lines (from the
guest and the host) into the BENCH lines of DESIGN.md, a table and a plot.

    report.py OUTDIR RAWFILE...

Prints the BENCH lines and the table on stdout; writes OUTDIR/results.txt
(the same), OUTDIR/results.md (table), OUTDIR/results.dat and, when gnuplot
is available, OUTDIR/results.png.
"""
import os
import shutil
import subprocess
import sys

# metric: (composefs side, reference side, unit, target, higher_is_better, what)
METRICS = [
    ("mount_umount", "composefs", "reference", "us", 0.5, False,
     "mount + umount, per cycle (reference: EROFS + overlay + detach)"),
    ("walk_cold", "composefs", "reference", "ms", 0.45, False,
     "lstat of every entry, fresh mount after drop_caches"),
    ("walk_cold_vs_erofs", "composefs", "erofs", "ms", 1.0, False,
     "the same, against EROFS alone"),
    ("walk_warm", "composefs", "reference", "ms", 0.5, False,
     "lstat of every entry, warm caches"),
    ("open_close", "composefs", "reference", "ms", 0.7, False,
     "open + close of every regular file (verity check)"),
    ("read_seq", "composefs", "direct", "MiB/s", 0.97, True,
     "sequential read of large files, cold (reference: store objects directly)"),
    ("mmap_read", "composefs", "direct", "MiB/s", 0.97, True,
     "the same through mmap"),
    ("mem_inodes", "composefs", "reference", "KiB", 0.6, False,
     "slab growth after walking every entry once"),
    ("mkcomposefs_dump", "project", "upstream", "ms", 1.0, False,
     "host: image from a 100k-entry dump file (reference: upstream mkcomposefs 1.0.8)"),
    ("mkcomposefs_store", "project", "upstream", "ms", 0.67, False,
     "host: image + --digest-store from a 1 GiB tree, 2 cores (reference: upstream 1.0.8)"),
]
# The metadata metrics again on the real tree.
METRICS += [(m[0] + "_real",) + m[1:6] + (m[6] + " (real tree)",) for m in METRICS
            if m[0] in ("walk_cold", "walk_cold_vs_erofs", "walk_warm", "open_close", "mem_inodes")]
# How the cost grows (issue 18). A side written "metric:side" takes its
# values from another raw metric (a growth is a size against a smaller one,
# in the same run); a target ("abs", x) is judged on composefs's value
# itself, not on the ratio; None: printed for information (a floor).
METRICS += [
    ("walk_warm_vs_tmpfs", "composefs", "tmpfs", "ms", 1.05, False,
     "warm walk against the same tree on tmpfs, runs interleaved"),
    ("walk_warm_vs_erofs", "walk_warm:composefs", "walk_warm:erofs", "ms", None, False,
     "the same against EROFS alone (of the image), runs interleaved"),
]
for tag, n in (("10k", "10,000"), ("100k", "100,000"), ("1m", "1,000,000")):
    METRICS += [
        ("mount_scale_" + tag, "composefs", "reference", "us", 0.5, False,
         "mount + umount, image of %s entries" % n),
        ("mount_scale_%s_vs_erofs" % tag, "mount_scale_%s:composefs" % tag,
         "mount_scale_%s:erofs" % tag, "us", None, False, "the same, against EROFS alone"),
    ]
    if tag != "10k":
        METRICS.append(("mount_scale_growth_" + tag, "mount_scale_%s:composefs" % tag,
                        "mount_scale_10k:composefs", "us", 1.2, False,
                        "composefs's mount + umount, %s entries against 10,000" % n))
for tag, n in (("1k", "1,000"), ("100k", "100,000"), ("1m", "1,000,000")):
    name = "lookup_bigdir" if tag == "100k" else "lookup_bigdir_" + tag
    # The target is on 100,000 and 1,000,000 entries; 1,000 is the base the
    # growth rows are measured from.
    METRICS += [
        (name, "lookup_bigdir_%s:composefs" % tag, "lookup_bigdir_%s:reference" % tag,
         "us/lookup", None if tag == "1k" else 0.5, False,
         "cold stat of 2,000 random names in a directory of %s" % n),
        (name + "_vs_erofs", "lookup_bigdir_%s:composefs" % tag, "lookup_bigdir_%s:erofs" % tag,
         "us/lookup", None, False, "the same, against EROFS alone"),
    ]
    if tag != "1k":
        METRICS.append(("lookup_bigdir_growth_" + tag, "lookup_bigdir_%s:composefs" % tag,
                        "lookup_bigdir_1k:composefs", "us/lookup", 2.5, False,
                        "composefs's per-lookup time, %s entries against 1,000" % n))
METRICS += [
    ("walk_cold_parallel", "composefs", "reference", "ms", 0.45, False,
     "cold walk by 2 processes over disjoint subtrees"),
    ("walk_cold_parallel_vs_erofs", "walk_cold_parallel:composefs", "walk_cold_parallel:erofs",
     "ms", None, False, "the same, against EROFS alone"),
    ("walk_cold_parallel_same", "composefs", "reference", "ms", 0.45, False,
     "cold walk by 2 processes, each over the whole tree"),
    ("walk_cold_parallel_speedup", "composefs", "reference", "x", 1.0, True,
     "walk_cold / walk_cold_parallel: speed-up from 1 to 2 walkers"),
    ("walk_cold_parallel_speedup_vs_erofs", "composefs", "erofs", "x", None, True,
     "the same, against EROFS alone's speed-up"),
    ("many_mounts", "composefs", "reference", "ms", 0.5, False,
     "mount 1,000 images of 200 entries, one store, all at once"),
    ("many_mounts_vs_erofs", "many_mounts:composefs", "many_mounts:erofs", "ms", None, False,
     "the same, against EROFS alone"),
    ("many_mounts_mem", "composefs", "reference", "KiB/image", 0.4, False,
     "slab + page cache per mounted image, each walked once, after drop_caches twice"),
    ("many_mounts_mem_vs_erofs", "many_mounts_mem:composefs", "many_mounts_mem:erofs",
     "KiB/image", None, False, "the same, against EROFS alone"),
    ("many_mounts_umount", "composefs", "reference", "ms", None, False,
     "unmount the 1,000 images"),
    ("many_mounts_slab_left", "composefs", "reference", "KiB", ("abs", 1024), False,
     "slab above its baseline after unmounting them all (target: composefs <= 1 MiB)"),
    ("many_mounts_cfs_inode_left", "composefs", "composefs", "KiB", ("abs", 0), False,
     "composefs_inode slab above its baseline after unmounting them all"),
    ("many_mounts_inodes_left", "composefs", "reference", "inodes", None, False,
     "inodes in use (fs.inode-nr) above the baseline after unmounting them all"),
    ("shared_cache", "shared_cache_ab:composefs", "shared_cache_a:composefs", "KiB", 1.15, False,
     "page cache after reading trees A and B (90% shared objects) / after A alone"),
    ("shared_cache_reference", "shared_cache_ab:reference", "shared_cache_a:reference", "KiB",
     None, False, "the same on the reference stack"),
    ("shared_cache_unshared", "shared_cache_ab:plain", "shared_cache_a:plain", "KiB", None, False,
     "the same for the two trees as plain files on ext4 (no sharing)"),
    ("shared_cache_floor", "shared_cache_ab:direct", "shared_cache_a:direct", "KiB", None, False,
     "the same, reading the images and the objects directly (the floor)"),
    ("shared_cache_b_vs_direct", "shared_cache_b:composefs", "shared_cache_b:direct", "KiB",
     None, False, "page cache added by reading B after A, against reading it directly"),
    ("shared_cache_read_b", "shared_cache_read_b:composefs", "shared_cache_read_a:composefs",
     "KiB", None, False, "read from disk (pgpgin) for B after A / for A"),
    ("container_start", "composefs", "reference", "ms", 0.75, False,
     "4 processes over 4 fresh mounts each open + read + close 3,000 files"),
    ("container_start_vs_direct", "container_start:composefs", "container_start:direct", "ms",
     None, False, "the same, against the store's objects read directly (the floor)"),
    ("container_start_vs_erofs_direct", "container_start:composefs",
     "container_start:erofs_direct", "ms", None, False,
     "the same, against each file looked up and opened on EROFS alone, its object read directly"),
]
# The walk's CPU work, counted in a guest whose clock counts instructions:
# no target, it shows the work the timed walks measure.
METRICS += [
    ("walk_cold_insns", "composefs", "reference", "Minsn", None, False,
     "the walk's CPU work (dentries and inodes cold), millions of instructions"),
    ("walk_cold_insns_vs_erofs", "composefs", "erofs", "Minsn", None, False,
     "the same, against EROFS alone"),
]
# Raw metric a derived metric takes its values from.
SOURCE = {"walk_cold_vs_erofs": "walk_cold", "walk_cold_vs_erofs_real": "walk_cold_real",
          "walk_warm_vs_tmpfs": "walk_warm", "walk_cold_insns_vs_erofs": "walk_cold_insns"}
# Metrics whose values are one raw metric's over another's, per side.
DERIVED = {"walk_cold_parallel_speedup": ("walk_cold", "walk_cold_parallel"),
           "walk_cold_parallel_speedup_vs_erofs": ("walk_cold", "walk_cold_parallel")}


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def fmt(x):
    if x is None:
        return "nan"
    if abs(x) >= 100:
        return "%.1f" % x
    if abs(x) >= 1:
        return "%.3f" % x
    return "%.4f" % x


def main():
    outdir = sys.argv[1]
    runs = {}
    comments = []
    for path in sys.argv[2:]:
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                i = line.find("RUN ")
                if i >= 0:
                    parts = line[i:].split()
                    if len(parts) == 4:
                        try:
                            runs.setdefault((parts[1], parts[2]), []).append(float(parts[3]))
                        except ValueError:
                            pass
                elif line.lstrip().startswith("# composefs"):
                    comments.append(line.strip())

    def values(name, spec):
        """The runs of one side: "side" of the metric's source, or "metric:side"."""
        if name in DERIVED:
            num, den = (runs.get((m, spec), []) for m in DERIVED[name])
            # Paired run by run (both are measured once per run).
            return [a / b for a, b in zip(num, den) if b]
        metric, _, side = spec.rpartition(":")
        return runs.get((metric or SOURCE.get(name, name), side), [])

    lines = []
    table = []
    for name, side, ref, unit, target, higher, what in METRICS:
        c = values(name, side)
        r = values(name, ref)
        if not c and not r:
            continue
        # A size or set that did not run at all (its raw metric is absent on
        # every side): no line, rather than one against the other size.
        if ":" in side and not any(k[0] == side.rpartition(":")[0] for k in runs):
            continue
        cm = median(c) if c else None
        rm = median(r) if r else None
        ratio = cm / rm if cm is not None and rm else None
        spread = "%s-%s" % (fmt(min(c)), fmt(max(c))) if c else "nan-nan"
        lines.append("BENCH name=%s composefs=%s reference=%s unit=%s ratio=%s spread=%s"
                     % (name, fmt(cm), fmt(rm), unit, fmt(ratio), spread))
        absolute = isinstance(target, tuple)
        judged = cm if absolute else ratio
        limit = target[1] if absolute else target
        if target is None or judged is None:
            verdict = "-"
        elif (judged >= limit) if higher else (judged <= limit):
            verdict = "met"
        else:
            verdict = "missed"
        if target is None:
            tgt = "-"
        else:
            tgt = "%s %g%s" % (">=" if higher else "<=", limit, " " + unit if absolute else "")
        table.append((name, fmt(cm), fmt(rm), ref, unit, fmt(ratio), tgt, verdict,
                      len(c), len(r), what))
    # Informational lines: the other sides, where measured.
    extra = []
    for (metric, side), v in sorted(runs.items()):
        if side in ("reference", "erofs", "tmpfs", "direct", "plain") and metric.replace("_real", "") in (
                "mount_umount", "walk_warm", "open_close", "mem_inodes", "read_seq", "mmap_read",
                "walk_cold_parallel", "walk_cold_parallel_same", "many_mounts_umount",
                "many_mounts_walk", "many_mounts_slab_left", "many_mounts_inodes_left"):
            extra.append("# %s %s: median %s (%d runs)" % (metric, side, fmt(median(v)), len(v)))

    hdr = ("metric", "composefs", "reference", "baseline", "unit", "ratio", "target", "", "n", "n_ref")
    rows = [hdr] + [t[:10] for t in table]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(hdr))]
    text_table = "\n".join("  ".join(str(row[i]).ljust(widths[i]) for i in range(len(hdr))).rstrip()
                           for row in rows)
    md = ["| metric | composefs | reference | baseline | unit | ratio | target | | what |",
          "|---|---|---|---|---|---|---|---|---|"]
    for t in table:
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                  % (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[10]))

    out = "\n".join(lines + [""] + comments + extra + ["", text_table]) + "\n"
    sys.stdout.write(out)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "results.txt"), "w") as f:
        f.write(out)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")

    # Plot: ratio per metric (composefs / baseline), with its target.
    dat = os.path.join(outdir, "results.dat")
    with open(dat, "w") as f:
        for t in table:
            ratio = t[5] if t[5] != "nan" else "0"
            # Absolute targets ("<= 1024 KiB") are not on the ratio's scale.
            target = t[6].split()[1] if len(t[6].split()) == 2 else "NaN"
            f.write("%s %s %s\n" % (t[0], ratio, target))
    if shutil.which("gnuplot") and table:
        png = os.path.join(outdir, "results.png")
        script = """
set terminal pngcairo size 1100,600 noenhanced
set output '%s'
set title 'composefs / baseline (lower is better; read_seq, mmap_read: higher is better)'
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -35 font ',9'
set bmargin 8
set rmargin 24
set key outside top right
plot '%s' using 0:2:xtic(1) with boxes lc rgb '#3070b0' title 'composefs / baseline', \
     '' using 0:2:(sprintf('%%.2f', $2)) with labels offset 0,0.7 font ',8' notitle, \
     '' using 0:3 with points pt 7 ps 1.5 lc rgb '#d03020' title 'target', \
     1 with lines dt 2 lc rgb '#404040' title 'parity'
""" % (png, dat)
        try:
            subprocess.run(["gnuplot"], input=script.encode(), check=True)
        except (subprocess.CalledProcessError, OSError) as e:
            sys.stderr.write("report.py: gnuplot failed: %s\n" % e)


if __name__ == "__main__":
    main()
