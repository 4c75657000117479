// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-fileops FILE...: exercise the file operations a stacked regular file
 * must support and print what each returned, one line per FILE, so that
 * composefs and the reference stack can be compared with diff:
 * O_DIRECT, O_NOATIME and O_PATH opens, write opens, SEEK_DATA/SEEK_HOLE,
 * posix_fadvise, fsync, flock and fcntl locks, copy_file_range and sendfile
 * (content hashes), preadv2 with RWF_NOWAIT, reads into a buffer that an
 * unmapped page ends or starts, statx's mask and attributes, a shared
 * read-only mmap,
 * O_DIRECT set with fcntl(F_SETFL) and the reads, seeks and mmap after it,
 * listxattr's size query and a listxattr into a 3-byte buffer.
 * Values that legitimately differ between filesystems (ino, dev, blocks,
 * blksize) are not printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Hash what a descriptor holds from offset 0. */
static uint64_t hash_fd(int fd)
{
	static unsigned char buf[65536];
	uint64_t h = 0xcbf29ce484222325ULL;
	ssize_t n;
	off_t off = 0;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		h = fnv(h, buf, n);
		off += n;
	}
	return h;
}

#define RESULT(expr) ((expr) < 0 ? -errno : 0)

static void seeks(int fd, off_t size)
{
	off_t pos = 0;
	int i;

	/* The data/hole map, as SEEK_DATA and SEEK_HOLE walk it. */
	printf(" map=");
	for (i = 0; i < 64 && pos < size; i++) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			printf("data-err%d", errno);
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		printf("%lld-%lld,", (long long)data, (long long)hole);
		if (hole <= data)
			break;
		pos = hole;
	}
	printf(" seek-end=%lld", (long long)lseek(fd, 0, SEEK_END));
	printf(" seek-past=%d", lseek(fd, size + 1, SEEK_DATA) < 0 ? -errno : 0);
}

static void one(const char *path)
{
	struct statx stx;
	struct stat st;
	int fd, tmp, p[2];
	void *buf;

	printf("%s", path);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf(" open-err=%d\n", errno);
		return;
	}
	fstat(fd, &st);
	printf(" wronly=%d", -(open(path, O_WRONLY) < 0 ? errno : 0));
	printf(" rdwr=%d", -(open(path, O_RDWR) < 0 ? errno : 0));
	printf(" trunc=%d", -(open(path, O_RDONLY | O_TRUNC) < 0 ? errno : 0));
	{
		int d = open(path, O_RDONLY | O_DIRECT);

		printf(" odirect=");
		if (d < 0) {
			printf("err%d", errno);
		} else if (posix_memalign(&buf, 4096, 65536) == 0) {
			ssize_t n = pread(d, buf, 65536, 0);

			printf("%zd", n < 0 ? -errno : n);
			if (n > 0)
				printf("/%016llx", (unsigned long long)fnv(0xcbf29ce484222325ULL, buf, n));
			free(buf);
			close(d);
		}
	}
	{
		int d = open(path, O_RDONLY | O_NOATIME);

		printf(" noatime=%d", d < 0 ? -errno : 0);
		if (d >= 0)
			close(d);
		d = open(path, O_PATH);
		printf(" opath=%d", d < 0 ? -errno : 0);
		if (d >= 0) {
			struct stat ps;

			printf("/%d", fstat(d, &ps) < 0 ? -errno : ps.st_size == st.st_size);
			printf("/read%zd", read(d, &ps, 1) < 0 ? (ssize_t)-errno : (ssize_t)0);
			close(d);
		}
	}
	seeks(fd, st.st_size);
	printf(" fadvise=%d,%d,%d", posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED),
	       posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL), posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	printf(" fsync=%d fdatasync=%d", RESULT(fsync(fd)), RESULT(fdatasync(fd)));
	printf(" flock=%d,%d", RESULT(flock(fd, LOCK_SH | LOCK_NB)), RESULT(flock(fd, LOCK_UN)));
	{
		struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

		printf(" fcntl-rdlck=%d", RESULT(fcntl(fd, F_SETLK, &fl)));
		fl.l_type = F_WRLCK;
		printf(" fcntl-wrlck=%d", RESULT(fcntl(fd, F_SETLK, &fl)));
	}
	tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (tmp >= 0) {
		loff_t in = 0;
		ssize_t n, total = 0;

		while ((n = copy_file_range(fd, &in, tmp, NULL, 1 << 20, 0)) > 0)
			total += n;
		printf(" copy_file_range=%zd/%016llx", n < 0 ? -errno : total,
		       (unsigned long long)hash_fd(tmp));
		close(tmp);
	}
	if (pipe(p) == 0) {
		off_t off = 0;
		ssize_t n = sendfile(p[1], fd, &off, 4096);

		printf(" sendfile=%zd", n < 0 ? -errno : n);
		close(p[0]);
		close(p[1]);
	}
	{
		/* A read that must not block (io_uring's first try). */
		char b[64];
		struct iovec iov = { .iov_base = b, .iov_len = sizeof(b) };
		ssize_t n = preadv2(fd, &iov, 1, 0, RWF_NOWAIT);

		printf(" preadv2-nowait=%zd", n < 0 ? -errno : n);
	}
	{
		/* Reads into a buffer that ends, or starts, at an unmapped page. */
		long pg = sysconf(_SC_PAGESIZE);
		char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m != MAP_FAILED && mprotect(m + pg, pg, PROT_NONE) == 0) {
			ssize_t n = pread(fd, m + pg - 10, 64, 0);

			printf(" read-to-edge=%zd", n < 0 ? -errno : n);
			n = pread(fd, m + pg, 64, 0);
			printf(" read-to-unmapped=%zd", n < 0 ? -errno : n);
		}
		if (m != MAP_FAILED)
			munmap(m, 2 * pg);
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &stx) == 0)
		printf(" statx-mask=%x attrs=%llx/%llx size=%llu", stx.stx_mask & ~STATX_BLOCKS & ~STATX_INO,
		       (unsigned long long)stx.stx_attributes, (unsigned long long)stx.stx_attributes_mask,
		       (unsigned long long)stx.stx_size);
	if (st.st_size > 0) {
		void *m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);

		printf(" mmap-shared=%s", m == MAP_FAILED ? "err" : "ok");
		if (m != MAP_FAILED) {
			printf(" mmap-write=%d", mprotect(m, st.st_size, PROT_READ | PROT_WRITE) < 0 ? -errno : 0);
			munmap(m, st.st_size);
		}
	}
	{
		/* O_DIRECT through F_SETFL, then what reaches the data. */
		int d = open(path, O_RDONLY);

		if (d >= 0 && posix_memalign(&buf, 4096, 4096) == 0) {
			int fl = fcntl(d, F_GETFL);
			ssize_t n;
			void *m;

			printf(" setfl-direct=%d", RESULT(fcntl(d, F_SETFL, fl | O_DIRECT)));
			n = pread(d, buf, 4096, 0);
			printf("/pread%zd", n < 0 ? -errno : n);
			printf("/lseek%d", RESULT(lseek(d, 0, SEEK_END)));
			m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, d, 0);
			printf("/mmap%d", m == MAP_FAILED ? -errno : 0);
			if (m != MAP_FAILED)
				munmap(m, 4096);
			printf("/fadvise%d", posix_fadvise(d, 0, 0, POSIX_FADV_WILLNEED));
			printf("/cleared%d", RESULT(fcntl(d, F_SETFL, fl)));
			n = pread(d, buf, 4096, 0);
			printf("/pread%zd", n < 0 ? -errno : n);
			free(buf);
		}
		if (d >= 0)
			close(d);
	}
	{
		/* The size query and a buffer too small for the list. */
		char small[3];
		ssize_t n = listxattr(path, NULL, 0);

		printf(" listxattr-size=%zd", n < 0 ? -errno : n);
		n = listxattr(path, small, sizeof(small));
		printf(" listxattr-3=%zd", n < 0 ? -errno : n);
	}
	close(fd);
	putchar('\n');
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		one(argv[i]);
	return 0;
}
