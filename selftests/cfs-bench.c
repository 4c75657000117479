// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-bench: workload generator and in-process timers for the benchmark
 * (scripts/bench.sh, selftests/bench/guest.sh). Static, runs on the host and
 * in the guest; timings use CLOCK_MONOTONIC inside one process so that no
 * fork/exec is measured.
 *
 *   cfs-bench gen [-s SEED] [-n ENTRIES] [-b COUNT:MIB] DIR
 *       Create a tree shaped like an OS image, deterministic from SEED:
 *       about ENTRIES entries (default 50000), ~8% directories holding 1 to
 *       5000 entries each and nested up to 12 levels, ~76% of the rest
 *       regular files (mostly 65 B..8 KiB, some inline-sized, a few up to
 *       1 MiB, ~10% duplicated contents), symlinks, a few fifos, and
 *       security.selinux labels on ~90% of the entries (user.* xattrs on some
 *       files). -b adds COUNT large files of MIB MiB under DIR/opt/bigdata
 *       (for the read benchmarks); their paths, relative to DIR, are printed.
 *   cfs-bench walk DIR          readdir + lstat of every entry below DIR;
 *                               prints "MS ENTRIES"
 *   cfs-bench openclose DIR     walks DIR (untimed), then open + close of
 *                               every regular file; prints "MS FILES"
 *   cfs-bench read FILE...      sequential read(2), 128 KiB at a time;
 *                               prints "MIB_PER_S BYTES"
 *   cfs-bench mmap FILE...      mmap and load one word per 64 bytes;
 *                               prints "MIB_PER_S BYTES"
 *   cfs-bench slab              kernel slab memory in KiB: sum of
 *                               active_objs * objsize from /proc/slabinfo,
 *                               else Slab: from /proc/meminfo
 *   cfs-bench drop              sync and drop the page, dentry and inode caches
 *   cfs-bench calibrate [SECS]  TSC ticks per second against CLOCK_MONOTONIC
 *                               (default 2 s); export it as CFS_BENCH_TSC_HZ
 *                               and the timers below use rdtsc
 *   cfs-bench mount CYCLES TYPE OPTS SRC TGT [TYPE2 OPTS2 SRC2 TGT2]
 *                               mount + umount cycles in one process, as
 *                               cfs-mount -b; prints us per cycle
 *   cfs-bench verity DIR        enable fs-verity (sha256, 4 KiB blocks) on every
 *                               regular file below DIR that lacks it, one
 *                               process per CPU; prints "ENABLED ALREADY"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "cfs-bench: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
	exit(1);
}

/*
 * Timers. The benchmark kernel under TCG has no clocksource better than
 * jiffies (4 ms steps), but the guest's TSC follows the host's. With
 * CFS_BENCH_TSC_HZ set (from `cfs-bench calibrate`), times come from rdtsc.
 */
static double tsc_hz;

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static double now_ms(void)
{
	if (tsc_hz > 0)
		return rdtsc() / tsc_hz * 1e3;
	return mono_ms();
}

/* Wait for the next step of CLOCK_MONOTONIC; return its value. */
static double mono_edge(void)
{
	double t0 = mono_ms(), t;

	while ((t = mono_ms()) == t0)
		;
	return t;
}

/* TSC ticks per second, measured against CLOCK_MONOTONIC over SECONDS. */
static int cmd_calibrate(double seconds)
{
	double t0 = mono_edge(), t1;
	uint64_t c0 = rdtsc(), c1;
	struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };

	nanosleep(&ts, NULL);
	t1 = mono_edge();
	c1 = rdtsc();
	printf("%.0f\n", (c1 - c0) / ((t1 - t0) / 1e3));
	return 0;
}

/* Mount + unmount CYCLES times (cfs-mount -b, timed with now_ms()); with a
 * second mount, each cycle mounts both, detaches the first and unmounts the
 * second (the EROFS + overlayfs reference stack). Prints us per cycle. */
static int cmd_mount(long cycles, char **m1, char **m2)
{
	double start = now_ms();
	long i;

	for (i = 0; i < cycles; i++) {
		if (mount(m1[2], m1[3], m1[0], MS_RDONLY, m1[1]) < 0)
			die("mount", m1[3]);
		if (m2) {
			if (mount(m2[2], m2[3], m2[0], MS_RDONLY, m2[1]) < 0)
				die("mount", m2[3]);
			if (umount2(m1[3], MNT_DETACH) < 0)
				die("detach", m1[3]);
			if (umount2(m2[3], 0) < 0)
				die("umount", m2[3]);
		} else if (umount2(m1[3], 0) < 0) {
			die("umount", m1[3]);
		}
	}
	printf("%.2f\n", (now_ms() - start) * 1e3 / cycles);
	return 0;
}

/* ---- deterministic random numbers (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double rndu(void)
{
	return ((rnd() >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static uint64_t rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* Roughly log-uniform integer in [lo, hi]: a uniform power of two, then
 * uniform within it (no libm in the static helpers). */
static uint64_t rnd_log(uint64_t lo, uint64_t hi)
{
	int a = 63 - __builtin_clzll(lo), b = 63 - __builtin_clzll(hi);
	int k = a + rndn(b - a + 1);
	uint64_t r = (1ULL << k) + rndn(1ULL << k);

	return r < lo ? lo : r > hi ? hi : r;
}

/* Fill BUF with LEN bytes derived from SEED (independent of the main RNG). */
static void fill(char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x2545f4914f6cdd1dULL + 1;
	size_t i;

	for (i = 0; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
	}
}

/* ---- generator ---- */

struct gdir {
	int parent;
	int depth;
	int nchild; /* subdirectories + other entries */
	int nfiles; /* non-directory entries assigned */
	double weight; /* cumulative */
	char *path;
};

static const char *words[] = {
	"lib", "bin", "share", "doc", "man", "locale", "python3", "perl", "gtk",
	"systemd", "kernel", "firmware", "icons", "fonts", "include", "x86_64",
	"pkgconfig", "cmake", "gconv", "terminfo", "zoneinfo", "mime", "dbus",
	"polkit", "selinux", "udev", "modules", "site-packages", "locale-langpack",
	"licenses", "info", "applications", "glib", "qt5", "X11", "ssl", "pam",
};
static const char *exts[] = {
	"", ".so", ".so.1", ".so.6.0.2", ".py", ".pyc", ".h", ".mo", ".gz",
	".conf", ".txt", ".html", ".png", ".svg", ".xml", ".json", ".service",
	".pl", ".pm", ".rules", ".ko.xz", ".desktop", ".ttf",
};
static const char *setypes[] = {
	"usr_t", "bin_t", "lib_t", "etc_t", "man_t", "locale_t", "shell_exec_t",
	"textrel_shlib_t", "fonts_t", "systemd_unit_file_t", "modules_object_t",
	"ld_so_t", "cert_t", "udev_rules_t", "firmware_t", "src_t",
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define MAXCHILD 5000
#define MAXDEPTH 12

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("vasprintf", NULL);
	va_end(ap);
	return s;
}

static void label(const char *path, int have_xattr)
{
	char ctx[80];

	if (!have_xattr)
		return;
	if (rndu() < 0.9) {
		snprintf(ctx, sizeof(ctx), "system_u:object_r:%s:s0",
			 setypes[rndn(NELEM(setypes))]);
		/* Size includes the NUL, as SELinux stores it. */
		lsetxattr(path, "security.selinux", ctx, strlen(ctx) + 1, 0);
	}
}

static void set_times(const char *path)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = 1700000000 + (time_t)rndn(40000000);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static char *buf;
#define BUFSZ (1 << 20)

static void write_file(const char *path, uint64_t size, uint64_t seed, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	uint64_t done = 0;

	if (fd < 0)
		die("create", path);
	while (done < size) {
		size_t n = size - done > BUFSZ ? BUFSZ : size - done;

		fill(buf, n, seed + done);
		if (write(fd, buf, n) != (ssize_t)n)
			die("write", path);
		done += n;
	}
	close(fd);
	if (fchmodat(AT_FDCWD, path, mode, 0) < 0)
		die("chmod", path);
}

static int gen(int argc, char **argv)
{
	uint64_t seed = 1, nbig = 0, bigmib = 0, total = 0;
	long entries = 50000;
	int c, have_xattr = 1;
	struct gdir *d;
	long ndirs, nother, i, nfiles = 0, nlinks = 0, nspecial = 0;
	uint64_t *cseed, *csize, ncontent = 0;
	double wsum = 0;
	const char *root;

	while ((c = getopt(argc, argv, "s:n:b:")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': entries = strtol(optarg, NULL, 0); break;
		case 'b':
			if (sscanf(optarg, "%lu:%lu", &nbig, &bigmib) != 2)
				return 2;
			break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || entries < 100)
		return 2;
	root = argv[optind];
	rng_state = seed;
	buf = malloc(BUFSZ + 8);
	if (mkdir(root, 0755) < 0)
		die("mkdir", root);
	if (lsetxattr(root, "security.selinux", "system_u:object_r:root_t:s0",
		      28, 0) < 0 && (errno == ENOTSUP || errno == EPERM))
		have_xattr = 0;

	ndirs = entries * 8 / 100;
	nother = entries - ndirs;
	d = calloc(ndirs + 1, sizeof(*d));
	d[0].path = strdup(root);
	/* A chain to the maximum depth, then a random recursive tree. */
	for (i = 1; i <= ndirs; i++) {
		int p;

		if (i < MAXDEPTH) {
			p = i - 1;
		} else {
			/* The shallower of two random directories: most of
			 * the tree sits 3 to 7 levels deep, as in /usr. */
			do {
				int q = rndn(i);

				p = rndn(i);
				if (d[q].depth < d[p].depth)
					p = q;
			} while (d[p].depth >= MAXDEPTH - 1 || d[p].nchild >= MAXCHILD);
		}
		d[i].parent = p;
		d[i].depth = d[p].depth + 1;
		d[p].nchild++;
		d[i].path = xasprintf("%s/%s%s%ld", d[p].path,
				      words[rndn(NELEM(words))],
				      rndu() < 0.5 ? "-" : ".", i);
	}
	/* Every directory holds at least one entry; the rest go by a
	 * heavy-tailed weight, so a few directories hold thousands. */
	for (i = 0; i <= ndirs; i++) {
		wsum += 1.0 / rndu();
		d[i].weight = wsum;
		if (d[i].nchild == 0 && nother > 0) {
			d[i].nchild++;
			d[i].nfiles++;
			nother--;
		}
	}
	while (nother > 0) {
		double w = rndu() * wsum;
		long lo = 0, hi = ndirs;

		while (lo < hi) {
			long mid = (lo + hi) / 2;

			if (d[mid].weight < w)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
		if (d[i].nchild >= MAXCHILD)
			continue;
		d[i].nchild++;
		d[i].nfiles++;
		nother--;
	}

	for (i = 0; i <= ndirs; i++) {
		if (i > 0 && mkdir(d[i].path, 0755) < 0)
			die("mkdir", d[i].path);
	}
	cseed = calloc(entries, sizeof(*cseed));
	csize = calloc(entries, sizeof(*csize));
	for (i = 0; i <= ndirs; i++) {
		int j;

		for (j = 0; j < d[i].nfiles; j++) {
			const char *w = words[rndn(NELEM(words))];
			const char *e = exts[rndn(NELEM(exts))];
			char *path = xasprintf("%s/%s%d-%ld%s", d[i].path, w, j, i, e);
			double r = rndu();

			if (r < 0.76) {
				/* Regular file. */
				uint64_t size, cs;
				double s = rndu();
				mode_t mode = rndu() < 0.1 ? 0755 : 0644;

				if (ncontent > 0 && rndu() < 0.1) {
					uint64_t k = rndn(ncontent);

					size = csize[k];
					cs = cseed[k];
				} else {
					if (s < 0.03)
						size = 0;
					else if (s < 0.12)
						size = 1 + rndn(64);
					else if (s < 0.997)
						size = rnd_log(65, 8191);
					else
						size = rnd_log(8192, 1 << 20);
					cs = rnd();
					cseed[ncontent] = cs;
					csize[ncontent++] = size;
				}
				write_file(path, size, cs, mode);
				if (rndu() < 0.05 && lchown(path, 1000, 1000) < 0)
					die("chown", path);
				if (have_xattr && rndu() < 0.03)
					lsetxattr(path, "user.checksum", path + strlen(root),
						  strlen(path + strlen(root)), 0);
				total += size;
				nfiles++;
			} else if (r < 0.995) {
				int up = rndn(d[i].depth + 1), k;
				char target[256] = "";

				for (k = 0; k < up; k++)
					strcat(target, "../");
				snprintf(target + strlen(target), sizeof(target) - strlen(target),
					 "%s/%s%lu%s", words[rndn(NELEM(words))],
					 words[rndn(NELEM(words))], rndn(1000),
					 exts[rndn(NELEM(exts))]);
				if (symlink(target, path) < 0)
					die("symlink", path);
				nlinks++;
			} else {
				if (mkfifo(path, 0644) < 0)
					die("mkfifo", path);
				nspecial++;
			}
			label(path, have_xattr);
			set_times(path);
			free(path);
		}
	}
	if (nbig) {
		char *bd = xasprintf("%s/opt", root);

		mkdir(bd, 0755);
		label(bd, have_xattr);
		free(bd);
		bd = xasprintf("%s/opt/bigdata", root);
		if (mkdir(bd, 0755) < 0)
			die("mkdir", bd);
		label(bd, have_xattr);
		for (i = 0; i < (long)nbig; i++) {
			char *path = xasprintf("%s/big%ld.bin", bd, i);

			write_file(path, bigmib << 20, rnd(), 0644);
			label(path, have_xattr);
			set_times(path);
			printf("opt/bigdata/big%ld.bin\n", i);
			free(path);
		}
		set_times(bd);
		free(bd);
		bd = xasprintf("%s/opt", root);
		set_times(bd);
		free(bd);
	}
	/* Directory times last: creating entries changes them. */
	for (i = ndirs; i >= 0; i--) {
		label(d[i].path, have_xattr);
		set_times(d[i].path);
	}
	fprintf(stderr,
		"cfs-bench: generated %ld dirs, %ld files (%lu bytes, %lu distinct), %ld symlinks, %ld fifos%s\n",
		ndirs + 1, nfiles, total, ncontent, nlinks, nspecial,
		have_xattr ? "" : " (no xattrs: not supported here)");
	return 0;
}

/* ---- walkers ---- */

static long n_entries;
static char **files;
static long n_files, cap_files;

static void walk(int dfd, const char *rel, int collect)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *de;
	struct stat st;

	if (!dir)
		die("fdopendir", rel);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("stat", de->d_name);
		n_entries++;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			char *sub;

			if (fd < 0)
				die("opendir", de->d_name);
			sub = collect ? xasprintf("%s%s/", rel, de->d_name) : NULL;
			walk(fd, sub, collect);
			free(sub);
		} else if (collect && S_ISREG(st.st_mode)) {
			if (n_files == cap_files) {
				cap_files = cap_files ? cap_files * 2 : 4096;
				files = realloc(files, cap_files * sizeof(*files));
			}
			files[n_files++] = xasprintf("%s%s", rel, de->d_name);
		}
	}
	closedir(dir);
}

static int open_root(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		die("open", path);
	return fd;
}

static int cmd_walk(const char *root)
{
	double t = now_ms();

	walk(open_root(root), "", 0);
	printf("%.3f %ld\n", now_ms() - t, n_entries);
	return 0;
}

static int cmd_openclose(const char *root)
{
	int rfd = open_root(root);
	double t;
	long i;

	walk(dup(rfd), "", 1);
	t = now_ms();
	for (i = 0; i < n_files; i++) {
		int fd = openat(rfd, files[i], O_RDONLY);

		if (fd < 0)
			die("open", files[i]);
		close(fd);
	}
	printf("%.3f %ld\n", now_ms() - t, n_files);
	return 0;
}

static int cmd_read(int argc, char **argv, int use_mmap)
{
	static char rbuf[128 << 10];
	uint64_t bytes = 0, sum = 0;
	double t = now_ms();
	int i;

	for (i = 0; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		ssize_t n;

		if (fd < 0)
			die("open", argv[i]);
		if (use_mmap) {
			struct stat st;
			const volatile uint64_t *p;
			size_t off;

			if (fstat(fd, &st) < 0)
				die("fstat", argv[i]);
			p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				die("mmap", argv[i]);
			for (off = 0; off + 8 <= (size_t)st.st_size; off += 64)
				sum += p[off / 8];
			munmap((void *)p, st.st_size);
			bytes += st.st_size;
		} else {
			while ((n = read(fd, rbuf, sizeof(rbuf))) > 0)
				bytes += n;
			if (n < 0)
				die("read", argv[i]);
		}
		close(fd);
	}
	t = now_ms() - t;
	printf("%.3f %lu\n", bytes / 1048576.0 / (t / 1e3), bytes + (sum & 0));
	return 0;
}

/* ---- scale workloads: generated dump files, lookups, many mounts ---- */

/* Hash of an index: names and object choices derive from it alone. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Name of file I of a generated dump with TAG (see gendump). */
static void gen_name(char *out, size_t len, const char *tag, uint64_t i)
{
	uint64_t h = mix(i);

	snprintf(out, len, "%s%s-%08lx%s", tag, words[h % NELEM(words)], (unsigned long)i,
		 exts[(h >> 32) % NELEM(exts)]);
}

struct tobj {
	char *size, *payload, *digest;
};

/* Regular files with a backing object in the dump file PATH. */
static struct tobj *read_template(const char *path, long *n)
{
	FILE *f = fopen(path, "r");
	struct tobj *t = NULL;
	char line[8192];
	long cap = 0;

	*n = 0;
	if (!f)
		die("open", path);
	while (fgets(line, sizeof(line), f)) {
		char *fld[11], *save = NULL, *p = line;
		int k;

		for (k = 0; k < 11; k++, p = NULL)
			if (!(fld[k] = strtok_r(p, " \n", &save)))
				break;
		/* path size mode nlink uid gid rdev mtime payload content digest */
		if (k < 11 || strncmp(fld[2], "100", 3) || !strcmp(fld[8], "-") ||
		    !strcmp(fld[10], "-"))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			t = realloc(t, cap * sizeof(*t));
		}
		t[*n].size = strdup(fld[1]);
		t[*n].payload = strdup(fld[8]);
		t[*n].digest = strdup(fld[10]);
		(*n)++;
	}
	fclose(f);
	return t;
}

/*
 * gendump [-n ENTRIES] [-f FANOUT] [-t TAG] [-x] TEMPLATE: a composefs dump
 * on stdout of ENTRIES entries: directories /dNNNNN (under the root) of
 * FANOUT regular files each, named gen_name(TAG, index within the
 * directory), each backed by one of TEMPLATE's objects (the regular files
 * with a payload and a digest in that dump), so that the image can use the
 * store TEMPLATE's image was built with. -x adds a security.selinux label
 * to every entry.
 */
static int cmd_gendump(int argc, char **argv)
{
	long entries = 10000, fanout = 1000, ndirs, nt, d, i, done = 0;
	const char *tag = "", *xa = "";
	struct tobj *t;
	char name[256];
	int c;

	while ((c = getopt(argc, argv, "n:f:t:x")) != -1) {
		switch (c) {
		case 'n': entries = strtol(optarg, NULL, 0); break;
		case 'f': fanout = strtol(optarg, NULL, 0); break;
		case 't': tag = optarg; break;
		case 'x': xa = " security.selinux=system_u:object_r:usr_t:s0\\x00"; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || entries < 2 || fanout < 1)
		return 2;
	t = read_template(argv[optind], &nt);
	if (!nt) {
		fprintf(stderr, "cfs-bench: no regular file with an object in %s\n", argv[optind]);
		return 1;
	}
	ndirs = (entries - 1 + fanout) / (fanout + 1);
	if (ndirs < 1)
		ndirs = 1;
	printf("/ 4096 40755 %ld 0 0 0 1700000000.0 - - -%s\n", ndirs + 2, xa);
	for (d = 0; d < ndirs; d++) {
		long nf = d + 1 < ndirs ? fanout : entries - 1 - ndirs - done;

		if (nf < 0)
			nf = 0;
		printf("/d%05ld 4096 40755 2 0 0 0 1700000000.0 - - -%s\n", d, xa);
		for (i = 0; i < nf; i++) {
			struct tobj *o = &t[mix(i ^ (d << 32)) % nt];

			gen_name(name, sizeof(name), tag, i);
			printf("/d%05ld/%s %s 100644 1 0 0 0 1700000000.0 %s - %s%s\n", d, name,
			       o->size, o->payload, o->digest, xa);
		}
		done += nf;
	}
	if (fflush(stdout) || ferror(stdout))
		die("write", "stdout");
	return 0;
}

/*
 * lookup [-s SEED] [-c COUNT] [-t TAG] DIR ENTRIES: stat of COUNT names
 * picked at random among the ENTRIES files gendump put in DIR (distinct
 * names if COUNT <= ENTRIES; DIR itself is opened before the clock starts);
 * prints "US_PER_LOOKUP COUNT".
 */
static int cmd_lookup(int argc, char **argv)
{
	long count = 2000, entries, i;
	const char *tag = "";
	char name[256];
	struct stat st;
	uint64_t *pick;
	double t;
	int c, dfd;

	rng_state = 1;
	while ((c = getopt(argc, argv, "s:c:t:")) != -1) {
		switch (c) {
		case 's': rng_state = strtoull(optarg, NULL, 0); break;
		case 'c': count = strtol(optarg, NULL, 0); break;
		case 't': tag = optarg; break;
		default: return 2;
		}
	}
	if (optind + 2 != argc || count < 1)
		return 2;
	entries = strtol(argv[optind + 1], NULL, 0);
	if (entries < 1)
		return 2;
	dfd = open_root(argv[optind]);
	/* Distinct names (a partial shuffle) when there are enough. */
	pick = calloc(count > entries ? count : entries, sizeof(*pick));
	if (!pick)
		die("calloc", NULL);
	for (i = 0; i < entries; i++)
		pick[i] = i;
	for (i = 0; i < count; i++) {
		if (count > entries) {
			pick[i] = rndn(entries);
		} else {
			uint64_t j = i + rndn(entries - i), x = pick[i];

			pick[i] = pick[j];
			pick[j] = x;
		}
	}
	t = now_ms();
	for (i = 0; i < count; i++) {
		gen_name(name, sizeof(name), tag, pick[i]);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("stat", name);
	}
	t = now_ms() - t;
	printf("%.3f %ld\n", t * 1e3 / count, count);
	return 0;
}

/* S with every "{}" replaced by I, zero-padded to 4 digits. */
static char *subst(const char *s, long i)
{
	char *out = malloc(strlen(s) * 4 + 16), *o = out;

	if (!out)
		die("malloc", NULL);
	while (*s) {
		if (s[0] == '{' && s[1] == '}') {
			o += sprintf(o, "%04ld", i);
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

/*
 * mountall N TYPE OPTS SRC TGT [TYPE2 OPTS2 SRC2 TGT2]: mount N filesystems
 * ("{}" in any argument stands for 0000..N-1) and leave them mounted; with a
 * second mount, each stack mounts both and detaches the first (as
 * cfs-bench mount's reference). Prints ms for all.
 */
static int cmd_mountall(long n, char **m1, char **m2)
{
	double start = now_ms();
	long i;
	int k;

	for (i = 0; i < n; i++) {
		char *a[4], *b[4];

		for (k = 0; k < 4; k++)
			a[k] = subst(m1[k], i);
		if (mount(a[2], a[3], a[0], MS_RDONLY, a[1]) < 0)
			die("mount", a[3]);
		if (m2) {
			for (k = 0; k < 4; k++)
				b[k] = subst(m2[k], i);
			if (mount(b[2], b[3], b[0], MS_RDONLY, b[1]) < 0)
				die("mount", b[3]);
			if (umount2(a[3], MNT_DETACH) < 0)
				die("detach", a[3]);
			for (k = 0; k < 4; k++)
				free(b[k]);
		}
		for (k = 0; k < 4; k++)
			free(a[k]);
	}
	printf("%.3f %ld\n", now_ms() - start, n);
	return 0;
}

/* umountall N TGT: unmount what mountall mounted on TGT; prints ms. */
static int cmd_umountall(long n, const char *tgt)
{
	double start = now_ms();
	long i;

	for (i = 0; i < n; i++) {
		char *p = subst(tgt, i);

		if (umount2(p, 0) < 0)
			die("umount", p);
		free(p);
	}
	printf("%.3f %ld\n", now_ms() - start, n);
	return 0;
}

/* walkall N DIR: walk of every DIR ("{}" as for mountall); prints "MS ENTRIES". */
static int cmd_walkall(long n, const char *dir)
{
	double t = now_ms();
	long i;

	for (i = 0; i < n; i++) {
		char *p = subst(dir, i);

		walk(open_root(p), "", 0);
		free(p);
	}
	printf("%.3f %ld\n", now_ms() - t, n_entries);
	return 0;
}

/* One line of /proc/meminfo, in KiB (-1 if absent). */
static long meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (!f)
		die("open", "/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * KiB held by one slab cache: active_objs * objsize from /proc/slabinfo,
 * else objects * object_size from /sys/kernel/slab/NAME; -1 if neither.
 */
static double cache_kib(const char *cache)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512], path[256];
	double kib = -1, objs, size;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char name[128];
			unsigned long active, num, objsize;

			if (sscanf(line, "%127s %lu %lu %lu", name, &active, &num, &objsize) == 4 &&
			    !strcmp(name, cache))
				kib = active * (double)objsize / 1024;
		}
		fclose(f);
		return kib < 0 ? 0 : kib;
	}
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/objects", cache);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lf", &objs) != 1)
		objs = -1;
	fclose(f);
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/object_size", cache);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lf", &size) != 1)
		size = -1;
	fclose(f);
	return objs < 0 || size < 0 ? -1 : objs * size / 1024;
}

/* mem [CACHE]: "SLAB_KIB CACHED_KIB [CACHE_KIB]" (cmd_slab's sum, meminfo's
 * Cached, and one slab cache's KiB or -1 if it cannot be read). */
static int cmd_mem(const char *cache)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512];
	double slab = 0;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char name[128];
			unsigned long active, num, objsize;

			if (sscanf(line, "%127s %lu %lu %lu", name, &active, &num, &objsize) == 4)
				slab += active * (double)objsize / 1024;
		}
		fclose(f);
	} else {
		slab = meminfo("Slab");
	}
	printf("%.0f %ld", slab, meminfo("Cached"));
	if (cache)
		printf(" %.0f", cache_kib(cache));
	printf("\n");
	return 0;
}

/* Paths listed one per line in PATH. */
static char **read_list(const char *path, long *n)
{
	FILE *f = fopen(path, "r");
	char line[4096], **v = NULL;
	long cap = 0;

	*n = 0;
	if (!f)
		die("open", path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = realloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = strdup(line);
	}
	fclose(f);
	return v;
}

/*
 * start [-s STORE] LIST ROOT...: one process per ROOT, all started together,
 * each opening, reading to the end (128 KiB at a time) and closing every
 * file of LIST (paths relative to ROOT); prints "MS FILES BYTES" for all of
 * them, from the start to the last one's end. With -s, each line of LIST is
 * "PATH OBJECT": PATH is opened under ROOT and closed unread (a lookup in
 * the image and an open, where ROOT is an EROFS mount of it), then OBJECT
 * opened under STORE and read; an OBJECT of "-" (data in the image) reads
 * PATH itself.
 */
static int cmd_start(const char *store, const char *list, int nroot, char **roots)
{
	static char rbuf[128 << 10];
	long n, i;
	char **paths = read_list(list, &n);
	double t;
	int r, status, failed = 0;
	uint64_t bytes = 0;
	int pfd[2];

	if (pipe(pfd) < 0)
		die("pipe", NULL);
	t = now_ms();
	for (r = 0; r < nroot; r++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork", NULL);
		if (pid == 0) {
			int rfd = open_root(roots[r]), sfd = store ? open_root(store) : -1;
			uint64_t b = 0;

			for (i = 0; i < n; i++) {
				char *object = store ? strchr(paths[i], ' ') : NULL;
				int fd;
				ssize_t got;

				if (store) {
					if (!object)
						die("no object on the line of", paths[i]);
					*object++ = 0;
				}
				fd = openat(rfd, paths[i], O_RDONLY);
				if (fd < 0)
					die("open", paths[i]);
				if (store && strcmp(object, "-")) {
					close(fd);
					fd = openat(sfd, object, O_RDONLY);
					if (fd < 0)
						die("open", object);
				}
				while ((got = read(fd, rbuf, sizeof(rbuf))) > 0)
					b += got;
				if (got < 0)
					die("read", paths[i]);
				close(fd);
			}
			if (write(pfd[1], &b, sizeof(b)) != sizeof(b))
				_exit(1);
			_exit(0);
		}
	}
	for (r = 0; r < nroot; r++) {
		if (wait(&status) < 0)
			die("wait", NULL);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	t = now_ms() - t;
	close(pfd[1]);
	for (r = 0; r < nroot; r++) {
		uint64_t b;

		if (read(pfd[0], &b, sizeof(b)) == sizeof(b))
			bytes += b;
	}
	if (failed) {
		fprintf(stderr, "cfs-bench: start: a reader failed\n");
		return 1;
	}
	printf("%.3f %ld %lu\n", t, n * nroot, (unsigned long)bytes);
	return 0;
}

/* Claim flags of pwalk's split mode, shared by the walkers. */
#define NCLAIM (1L << 22)
static unsigned char *claimed;
static long claim_k;
static int walker_id, n_walkers;

/* The next unit of work (the same sequence in every walker): ours if no
 * other walker took it first. */
static int claim(void)
{
	long k = claim_k++;

	if (k >= NCLAIM)
		return k % n_walkers == walker_id;
	return !__atomic_exchange_n(&claimed[k], 1, __ATOMIC_SEQ_CST);
}

static int is_dot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

/* The top two levels of the tree, shared out entry by entry: each walker
 * reads the root and its subdirectories, and stats (and walks) an entry of
 * the first two levels only if it claims it. */
static void split_walk(int dfd, int depth)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *de;
	struct stat st;

	if (!dir)
		die("fdopendir", NULL);
	while ((de = readdir(dir))) {
		int isdir = de->d_type == DT_DIR, fd, mine;

		if (is_dot(de->d_name))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				die("stat", de->d_name);
			isdir = S_ISDIR(st.st_mode);
		}
		mine = claim();
		if (!mine && !(depth == 0 && isdir))
			continue;
		if (depth == 0 && isdir) {
			/* Every walker descends; only the claimer stats it. */
			if (mine) {
				if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					die("stat", de->d_name);
				n_entries++;
			}
			fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (fd < 0)
				die("opendir", de->d_name);
			split_walk(fd, 1);
			continue;
		}
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("stat", de->d_name);
		n_entries++;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (fd < 0)
				die("opendir", de->d_name);
			walk(fd, NULL, 0);
		}
	}
	closedir(dir);
}

/*
 * pwalk split|same NPROC ROOT: NPROC processes walk ROOT together. split:
 * the entries of the top two levels are shared out as the walkers reach
 * them (each takes what nobody has claimed yet, and walks all of it), so
 * every entry is stat'ed once; same: each walks all of ROOT. Prints
 * "MS ENTRIES" from the start to the last walker's end (ENTRIES summed over
 * the walkers).
 */
static int cmd_pwalk(const char *mode, int nproc, const char *root)
{
	long *total;
	int split = !strcmp(mode, "split"), p, status, failed = 0;
	double t;

	if ((!split && strcmp(mode, "same")) || nproc < 1)
		return 2;
	total = mmap(NULL, sizeof(*total), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	claimed = mmap(NULL, NCLAIM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (total == MAP_FAILED || claimed == MAP_FAILED)
		die("mmap", NULL);
	memset(claimed, 0, NCLAIM);
	*total = 0;
	n_walkers = nproc;
	t = now_ms();
	for (p = 0; p < nproc; p++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork", NULL);
		if (pid)
			continue;
		walker_id = p;
		if (split)
			split_walk(open_root(root), 0);
		else
			walk(open_root(root), NULL, 0);
		__atomic_fetch_add(total, n_entries, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	for (p = 0; p < nproc; p++) {
		if (wait(&status) < 0)
			die("wait", NULL);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	}
	t = now_ms() - t;
	if (failed) {
		fprintf(stderr, "cfs-bench: pwalk: a walker failed\n");
		return 1;
	}
	printf("%.3f %ld\n", t, *total);
	return 0;
}

static int cmd_slab(void)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512];
	double kib = 0;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char name[128];
			unsigned long active, num, objsize;

			if (sscanf(line, "%127s %lu %lu %lu", name, &active, &num, &objsize) == 4)
				kib += active * (double)objsize / 1024;
		}
		fclose(f);
		printf("%.0f\n", kib);
		return 0;
	}
	f = fopen("/proc/meminfo", "r");
	if (!f)
		die("open", "/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lf", &kib) == 1)
			break;
	fclose(f);
	printf("%.0f\n", kib);
	return 0;
}

static int cmd_drop(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3", 1) != 1)
		die("drop_caches", NULL);
	close(fd);
	return 0;
}

static long v_enabled, v_already;
/* verity_tree's share of the files: those whose running count is v_part
 * modulo v_parts. */
static long v_seen, v_part, v_parts = 1;

static void verity_tree(int dfd)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *de;

	if (!dir)
		die("fdopendir", NULL);
	while ((de = readdir(dir))) {
		struct fsverity_enable_arg arg = {
			.version = 1,
			.hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
			.block_size = 4096,
		};
		int fd;

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_DIR) {
			fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY);
			if (fd < 0)
				die("opendir", de->d_name);
			verity_tree(fd);
			continue;
		}
		if (de->d_type != DT_REG || v_seen++ % v_parts != v_part)
			continue;
		fd = openat(dirfd(dir), de->d_name, O_RDONLY);
		if (fd < 0)
			die("open", de->d_name);
		if (ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) == 0)
			v_enabled++;
		else if (errno == EEXIST)
			v_already++;
		else
			die("FS_IOC_ENABLE_VERITY", de->d_name);
		close(fd);
	}
	closedir(dir);
}

/* One process per CPU, each enabling fs-verity on its share of the files
 * (hashing them is the cost). */
static int cmd_verity(const char *root)
{
	long *counts, parts = sysconf(_SC_NPROCESSORS_ONLN), k, enabled = 0, already = 0;
	int status, failed = 0;

	if (parts < 1)
		parts = 1;
	counts = mmap(NULL, 2 * parts * sizeof(long), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		die("mmap", NULL);
	for (k = 0; k < parts; k++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork", NULL);
		if (pid == 0) {
			v_part = k;
			v_parts = parts;
			verity_tree(open_root(root));
			counts[2 * k] = v_enabled;
			counts[2 * k + 1] = v_already;
			_exit(0);
		}
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	if (failed)
		return 1;
	for (k = 0; k < parts; k++) {
		enabled += counts[2 * k];
		already += counts[2 * k + 1];
	}
	printf("%ld %ld\n", enabled, already);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: cfs-bench gen [-s SEED] [-n ENTRIES] [-b COUNT:MIB] DIR\n"
			"       cfs-bench walk|openclose DIR\n"
			"       cfs-bench read|mmap FILE...\n"
			"       cfs-bench slab|drop\n"
			"       cfs-bench verity DIR\n"
			"       cfs-bench calibrate [SECONDS]\n"
			"       cfs-bench mount CYCLES TYPE OPTS SRC TGT [TYPE2 OPTS2 SRC2 TGT2]\n"
			"       cfs-bench gendump [-n ENTRIES] [-f FANOUT] [-t TAG] [-x] TEMPLATE_DUMP\n"
			"       cfs-bench lookup [-s SEED] [-c COUNT] [-t TAG] DIR ENTRIES\n"
			"       cfs-bench mountall N TYPE OPTS SRC TGT [TYPE2 OPTS2 SRC2 TGT2]\n"
			"       cfs-bench umountall|walkall N DIR\n"
			"       cfs-bench mem [CACHE]\n"
			"       cfs-bench start [-s STORE] LIST ROOT...\n"
			"       cfs-bench pwalk split|same NPROC ROOT\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *hz = getenv("CFS_BENCH_TSC_HZ");

	if (hz)
		tsc_hz = strtod(hz, NULL);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "calibrate"))
		return cmd_calibrate(argc > 2 ? strtod(argv[2], NULL) : 2.0);
	if (!strcmp(argv[1], "mount") && (argc == 7 || argc == 11))
		return cmd_mount(strtol(argv[2], NULL, 10), argv + 3, argc == 11 ? argv + 7 : NULL);
	if (!strcmp(argv[1], "gen")) {
		int r = gen(argc - 1, argv + 1);

		return r == 2 ? usage() : r;
	}
	if (!strcmp(argv[1], "walk") && argc == 3)
		return cmd_walk(argv[2]);
	if (!strcmp(argv[1], "openclose") && argc == 3)
		return cmd_openclose(argv[2]);
	if (!strcmp(argv[1], "read") && argc >= 3)
		return cmd_read(argc - 2, argv + 2, 0);
	if (!strcmp(argv[1], "mmap") && argc >= 3)
		return cmd_read(argc - 2, argv + 2, 1);
	if (!strcmp(argv[1], "slab"))
		return cmd_slab();
	if (!strcmp(argv[1], "gendump")) {
		int r = cmd_gendump(argc - 1, argv + 1);

		return r == 2 ? usage() : r;
	}
	if (!strcmp(argv[1], "lookup")) {
		int r = cmd_lookup(argc - 1, argv + 1);

		return r == 2 ? usage() : r;
	}
	if (!strcmp(argv[1], "mountall") && (argc == 7 || argc == 11))
		return cmd_mountall(strtol(argv[2], NULL, 10), argv + 3, argc == 11 ? argv + 7 : NULL);
	if (!strcmp(argv[1], "umountall") && argc == 4)
		return cmd_umountall(strtol(argv[2], NULL, 10), argv[3]);
	if (!strcmp(argv[1], "walkall") && argc == 4)
		return cmd_walkall(strtol(argv[2], NULL, 10), argv[3]);
	if (!strcmp(argv[1], "mem") && argc <= 3)
		return cmd_mem(argc == 3 ? argv[2] : NULL);
	if (!strcmp(argv[1], "start") && argc >= 6 && !strcmp(argv[2], "-s"))
		return cmd_start(argv[3], argv[4], argc - 5, argv + 5);
	if (!strcmp(argv[1], "start") && argc >= 4)
		return cmd_start(NULL, argv[2], argc - 3, argv + 3);
	if (!strcmp(argv[1], "pwalk") && argc == 5) {
		int r = cmd_pwalk(argv[2], atoi(argv[3]), argv[4]);

		return r == 2 ? usage() : r;
	}
	if (!strcmp(argv[1], "drop"))
		return cmd_drop();
	if (!strcmp(argv[1], "verity") && argc == 3)
		return cmd_verity(argv[2]);
	return usage();
}
