// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-walk: print everything a process can observe of a directory tree, one
 * line per entry, so that two mounts of the same image (composefs and the
 * EROFS + overlayfs reference stack) can be compared with diff.
 *
 *   cfs-walk [-n] [-b] ROOT
 *
 * For each entry, in readdir order: the path relative to ROOT, the d_type
 * readdir reported, and from lstat the type, mode, nlink, uid, gid, size,
 * rdev, mtime and ctime; symlink targets; every xattr name and value (hex);
 * for regular files a hash of the contents read with read(2) and with mmap,
 * (also compared with what mmap and splice return), or the errno opening or
 * reading failed with; and which earlier path has the
 * same inode (hard links). Inode and device numbers are left out: they differ
 * between filesystems by design. -n leaves out the contents. -b adds
 * st_blocks (as lstat reports it before the entry is opened; overlayfs
 * reports the data file's blocks once it has opened a metacopy file, so
 * compare it only where the two stacks have opened nothing). Entries are
 * printed in readdir order, so the order is compared too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int no_data, show_blocks;
static size_t root_len;

struct seen {
	dev_t dev;
	ino_t ino;
	char *path;
};
static struct seen *seen;
static size_t n_seen, cap_seen;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("realloc");
		exit(2);
	}
	return p;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c <= ' ' || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void print_xattrs(const char *path)
{
	ssize_t len = llistxattr(path, NULL, 0), i;
	char *names;

	if (len < 0) {
		printf(" listxattr-err=%d", errno);
		return;
	}
	names = xrealloc(NULL, len + 1);
	len = llistxattr(path, names, len);
	if (len < 0) {
		printf(" listxattr-err=%d", errno);
		free(names);
		return;
	}
	for (i = 0; i < len; i += strlen(names + i) + 1) {
		const char *name = names + i;
		ssize_t vlen = lgetxattr(path, name, NULL, 0), j;
		unsigned char *val;

		printf(" xattr:");
		print_escaped(name);
		if (vlen < 0) {
			printf("=err%d", errno);
			continue;
		}
		val = xrealloc(NULL, vlen + 1);
		vlen = lgetxattr(path, name, val, vlen);
		if (vlen < 0) {
			printf("=err%d", errno);
		} else {
			putchar('=');
			for (j = 0; j < vlen; j++)
				printf("%02x", val[j]);
		}
		free(val);
	}
	free(names);
}

/* Hash the file again through splice(2) into a pipe (the sendfile path). */
static void print_splice(int fd, uint64_t want)
{
	static unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	loff_t off = 0;
	int p[2];
	ssize_t n;

	if (pipe(p) < 0)
		return;
	while ((n = splice(fd, &off, p[1], NULL, sizeof(buf), 0)) > 0) {
		ssize_t got = 0, r;

		while (got < n && (r = read(p[0], buf, n - got)) > 0) {
			h = fnv(h, buf, r);
			got += r;
		}
	}
	if (n < 0)
		printf(" splice-err=%d", errno);
	else if (h != want)
		printf(" splice-differs");
	close(p[0]);
	close(p[1]);
}

static void print_data(const char *path, const struct stat *st)
{
	static unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;
	off_t total = 0;

	if (fd < 0) {
		printf(" open-err=%d", errno);
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		h = fnv(h, buf, n);
		total += n;
	}
	if (n < 0)
		printf(" read-err=%d", errno);
	else
		printf(" data=%016llx/%lld", (unsigned long long)h, (long long)total);
	if (n == 0 && st->st_size > 0) {
		void *m = mmap(NULL, st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED) {
			printf(" mmap-err=%d", errno);
		} else {
			uint64_t hm = fnv(0xcbf29ce484222325ULL, m, st->st_size);

			if (hm != h)
				printf(" mmap-differs");
			munmap(m, st->st_size);
		}
		print_splice(fd, h);
	}
	close(fd);
}

static void walk(const char *path, unsigned char dtype);

static void print_entry(const char *path, unsigned char dtype)
{
	struct stat st;
	size_t i;

	printf("%s", path[root_len] ? path + root_len : "/");
	printf(" dtype=%u", dtype);
	if (lstat(path, &st) < 0) {
		printf(" lstat-err=%d\n", errno);
		return;
	}
	/* st_blocks only with -b: overlayfs changes it once a file is opened. */
	printf(" mode=%o nlink=%lu uid=%u gid=%u size=%lld",
	       st.st_mode, (unsigned long)st.st_nlink, st.st_uid, st.st_gid,
	       (long long)st.st_size);
	if (show_blocks)
		printf(" blocks=%lld", (long long)st.st_blocks);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
	printf(" mtime=%lld.%09ld ctime=%lld.%09ld",
	       (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	       (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	if (S_ISLNK(st.st_mode)) {
		char target[8192];
		ssize_t n = readlink(path, target, sizeof(target) - 1);

		if (n < 0) {
			printf(" readlink-err=%d", errno);
		} else {
			target[n] = '\0';
			printf(" target=");
			print_escaped(target);
		}
	}
	print_xattrs(path);
	if (!S_ISDIR(st.st_mode)) {
		for (i = 0; i < n_seen; i++) {
			if (seen[i].dev == st.st_dev && seen[i].ino == st.st_ino) {
				printf(" same-inode-as=%s", seen[i].path + root_len);
				break;
			}
		}
		if (i == n_seen) {
			if (n_seen == cap_seen) {
				cap_seen = cap_seen ? cap_seen * 2 : 256;
				seen = xrealloc(seen, cap_seen * sizeof(*seen));
			}
			seen[n_seen].dev = st.st_dev;
			seen[n_seen].ino = st.st_ino;
			seen[n_seen].path = strdup(path);
			n_seen++;
		}
	}
	if (S_ISREG(st.st_mode) && !no_data)
		print_data(path, &st);
	putchar('\n');
	if (S_ISDIR(st.st_mode))
		walk(path, dtype);
}

static void walk(const char *path, unsigned char dtype)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	unsigned char *types = NULL;
	size_t n = 0, cap = 0, i;

	(void)dtype;
	if (!d) {
		printf("%s opendir-err=%d\n", path + root_len, errno);
		return;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof(*names));
			types = xrealloc(types, cap);
		}
		names[n] = strdup(de->d_name);
		types[n] = de->d_type;
		n++;
	}
	if (errno)
		printf("%s readdir-err=%d\n", path + root_len, errno);
	closedir(d);
	for (i = 0; i < n; i++) {
		char *child;

		if (!strcmp(names[i], ".") || !strcmp(names[i], ".."))
			continue;
		if (asprintf(&child, "%s/%s", path, names[i]) < 0)
			exit(2);
		print_entry(child, types[i]);
		free(child);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(types);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "nb")) != -1) {
		if (c == 'n')
			no_data = 1;
		else if (c == 'b')
			show_blocks = 1;
		else
			return 2;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: cfs-walk [-n] [-b] ROOT\n");
		return 2;
	}
	root_len = strlen(argv[optind]);
	print_entry(argv[optind], DT_DIR);
	return 0;
}
