// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-sound: small probes for test_sound.sh, printing results (errno
 * values as numbers) so that composefs and the reference stack can be
 * compared line by line.
 *
 *   cfs-sound nocap CAP CMD [ARG...]
 *       drop capability number CAP from the bounding set and exec CMD (as
 *       root, CMD then runs without CAP), e.g. to mount without CAP_FOWNER
 *   cfs-sound oldatime FILE
 *       set FILE's atime to 1000000000 (2001-09-09), leaving its mtime
 *   cfs-sound noatime FILE
 *       open FILE with O_NOATIME and read it to the end: "open=0 read=N",
 *       or "open=-ERRNO"
 *   cfs-sound setfl-direct FILE
 *       open FILE read-only, fcntl(F_SETFL, O_DIRECT), then pread 100 bytes
 *       at offset 1 into an unaligned buffer, then F_SETFL 0 and the same
 *       pread again: "setfl=R unaligned=R buffered=R", each R a byte count
 *       or -ERRNO
 *   cfs-sound write-byte DEV
 *       open DEV for writing and write one byte at offset 0 (its current
 *       value): "open=0 write=1" or "open=-ERRNO"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: cfs-sound nocap CAP CMD [ARG...] | oldatime FILE |\n"
			"       noatime FILE | setfl-direct FILE | write-byte DEV\n");
	return 2;
}

static long res(long r)
{
	return r < 0 ? -errno : r;
}

static int noatime(const char *path)
{
	static char buf[65536];
	long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOATIME);

	if (fd < 0) {
		printf("open=%d\n", -errno);
		return 0;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0)
		printf("open=0 read=%d\n", -errno);
	else
		printf("open=0 read=%ld\n", total);
	close(fd);
	return 0;
}

static int setfl_direct(const char *path)
{
	static char buf[8192] __attribute__((aligned(4096)));
	long setfl, unaligned, buffered;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		printf("open=%d\n", -errno);
		return 0;
	}
	setfl = res(fcntl(fd, F_SETFL, O_DIRECT));
	unaligned = res(pread(fd, buf + 1, 100, 1));
	fcntl(fd, F_SETFL, 0);
	buffered = res(pread(fd, buf + 1, 100, 1));
	printf("setfl=%ld unaligned=%ld buffered=%ld\n", setfl, unaligned, buffered);
	close(fd);
	return 0;
}

static int write_byte(const char *path)
{
	char c = 0;
	int fd = open(path, O_WRONLY);

	if (fd < 0) {
		printf("open=%d\n", -errno);
		return 0;
	}
	/* Write back what is there: the device's contents stay the same. */
	int rfd = open(path, O_RDONLY);

	if (rfd >= 0) {
		if (pread(rfd, &c, 1, 0) != 1)
			c = 0;
		close(rfd);
	}
	printf("open=0 write=%ld\n", res(pwrite(fd, &c, 1, 0)));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "nocap") && argc >= 4) {
		if (prctl(PR_CAPBSET_DROP, atol(argv[2]), 0, 0, 0) < 0) {
			perror("PR_CAPBSET_DROP");
			return 1;
		}
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		return 127;
	}
	if (!strcmp(argv[1], "oldatime")) {
		struct timespec ts[2] = { { 1000000000, 0 }, { 0, UTIME_OMIT } };

		if (utimensat(AT_FDCWD, argv[2], ts, 0) < 0) {
			perror(argv[2]);
			return 1;
		}
		return 0;
	}
	if (!strcmp(argv[1], "noatime"))
		return noatime(argv[2]);
	if (!strcmp(argv[1], "setfl-direct"))
		return setfl_direct(argv[2]);
	if (!strcmp(argv[1], "write-byte"))
		return write_byte(argv[2]);
	return usage();
}
