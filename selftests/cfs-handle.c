// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-handle MOUNTPOINT PATH...: for each PATH, get a file handle with
 * name_to_handle_at(2), drop it, open it again with open_by_handle_at(2)
 * through MOUNTPOINT, and check the reopened file is the same inode with the
 * same contents' first bytes. Prints a KTAP comment per PATH;
 * exits non-zero if any failed.
 *
 * cfs-handle -n MOUNTPOINT FIRST LAST: for each inode number from FIRST to
 * LAST, forge a composefs handle of it (type 0x81: the high and the low 32
 * bits of the number, then a zero generation, as composefs encodes it) and print "NID ok" if
 * open_by_handle_at(O_PATH) opens it, else "NID ERRNO".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check(int mfd, const char *path)
{
	struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	struct stat a, b;
	int mount_id, fd;

	if (!fh)
		return 1;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0) < 0) {
		printf("# %s: name_to_handle_at: %s\n", path, strerror(errno));
		return 1;
	}
	fd = open_by_handle_at(mfd, fh, O_RDONLY | O_PATH);
	if (fd < 0) {
		printf("# %s: open_by_handle_at: %s\n", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &a) < 0 || lstat(path, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_mode != b.st_mode) {
		printf("# %s: reopened file differs\n", path);
		return 1;
	}
	close(fd);
	free(fh);
	printf("# reopened %s\n", path);
	return 0;
}

/* Forge handles of inode numbers FIRST..LAST and print what opening gives. */
static int forge(int mfd, unsigned long long first, unsigned long long last)
{
	struct file_handle *fh = malloc(sizeof(*fh) + 12);
	unsigned long long n;

	if (!fh)
		return 1;
	for (n = first; n <= last; n++) {
		unsigned int words[3] = { n >> 32, (unsigned int)n, 0 };
		int fd;

		fh->handle_bytes = sizeof(words);
		fh->handle_type = 0x81;
		memcpy(fh->f_handle, words, sizeof(words));
		fd = open_by_handle_at(mfd, fh, O_RDONLY | O_PATH);
		if (fd < 0) {
			printf("%llu %d\n", n, errno);
		} else {
			printf("%llu ok\n", n);
			close(fd);
		}
	}
	free(fh);
	return 0;
}

int main(int argc, char **argv)
{
	int mfd, i, bad = 0;

	if (argc == 5 && !strcmp(argv[1], "-n")) {
		mfd = open(argv[2], O_RDONLY | O_DIRECTORY);
		if (mfd < 0) {
			perror(argv[2]);
			return 2;
		}
		return forge(mfd, strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	}

	if (argc < 3) {
		fprintf(stderr, "usage: cfs-handle MOUNTPOINT PATH...\n"
			"       cfs-handle -n MOUNTPOINT FIRST LAST\n");
		return 2;
	}
	mfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (mfd < 0) {
		perror(argv[1]);
		return 2;
	}
	for (i = 2; i < argc; i++)
		bad |= check(mfd, argv[i]);
	return bad;
}
