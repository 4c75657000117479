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
# Raw metric a derived metric takes its values from.
SOURCE = {"walk_cold_vs_erofs": "walk_cold", "walk_cold_vs_erofs_real": "walk_cold_real"}


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

    lines = []
    table = []
    for name, side, ref, unit, target, higher, what in METRICS:
        src = SOURCE.get(name, name)
        c = runs.get((src, side), [])
        r = runs.get((src, ref), [])
        if not c and not r:
            continue
        cm = median(c) if c else None
        rm = median(r) if r else None
        ratio = cm / rm if cm is not None and rm else None
        spread = "%s-%s" % (fmt(min(c)), fmt(max(c))) if c else "nan-nan"
        lines.append("BENCH name=%s composefs=%s reference=%s unit=%s ratio=%s spread=%s"
                     % (name, fmt(cm), fmt(rm), unit, fmt(ratio), spread))
        if target is None or ratio is None:
            verdict = "-"
        elif (ratio >= target) if higher else (ratio <= target):
            verdict = "met"
        else:
            verdict = "missed"
        tgt = "-" if target is None else ("%s %g" % (">=" if higher else "<=", target))
        table.append((name, fmt(cm), fmt(rm), ref, unit, fmt(ratio), tgt, verdict,
                      len(c), len(r), what))
    # Informational lines: the other sides, where measured.
    extra = []
    for (metric, side), v in sorted(runs.items()):
        if side in ("reference", "erofs", "tmpfs") and metric.replace("_real", "") in (
                "mount_umount", "walk_warm", "open_close", "mem_inodes", "read_seq", "mmap_read"):
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
            target = t[6].split()[-1] if t[6] != "-" else "NaN"
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
