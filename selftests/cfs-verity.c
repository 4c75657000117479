// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-verity: fs-verity from the guest's shell, which has no fsverity tool.
 *
 *   cfs-verity enable FILE [sha256|sha512]   FS_IOC_ENABLE_VERITY, 4096-byte blocks, no salt
 *   cfs-verity measure FILE                  print the kernel's digest, "sha256:<hex>"
 *   cfs-verity enable-all sha256|sha512 FILE...
 *                                            enable on each FILE (one process for a whole
 *                                            store); a failure is reported and the rest done
 *
 * Exits with the errno of a failing call (0 on success).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fsverity.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int enable(const char *path, int alg)
{
	struct fsverity_enable_arg arg = {
		.version = 1,
		.hash_algorithm = alg,
		.block_size = 4096,
	};
	int fd = open(path, O_RDONLY), err = 0;

	if (fd < 0) {
		err = errno;
		perror(path);
		return err;
	}
	if (ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) < 0) {
		err = errno;
		fprintf(stderr, "FS_IOC_ENABLE_VERITY %s: %s\n", path, strerror(err));
	}
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: cfs-verity enable FILE [sha256|sha512] | measure FILE | enable-all sha256|sha512 FILE...\n");
		return 2;
	}
	if (!strcmp(argv[1], "enable-all")) {
		int alg = !strcmp(argv[2], "sha512") ? FS_VERITY_HASH_ALG_SHA512 : FS_VERITY_HASH_ALG_SHA256;
		int i, err, first = 0;

		if (argc < 4) {
			fprintf(stderr, "cfs-verity enable-all: no files\n");
			return 2;
		}
		for (i = 3; i < argc; i++) {
			err = enable(argv[i], alg);
			if (err && !first)
				first = err;
		}
		return first;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		int err = errno;

		perror(argv[2]);
		return err;
	}
	if (!strcmp(argv[1], "enable")) {
		struct fsverity_enable_arg arg = {
			.version = 1,
			.hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
			.block_size = 4096,
		};

		if (argc > 3 && !strcmp(argv[3], "sha512"))
			arg.hash_algorithm = FS_VERITY_HASH_ALG_SHA512;
		if (ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) < 0) {
			int err = errno;

			perror("FS_IOC_ENABLE_VERITY");
			return err;
		}
		return 0;
	}
	if (!strcmp(argv[1], "measure")) {
		struct {
			struct fsverity_digest d;
			unsigned char buf[64];
		} m = { .d.digest_size = 64 };
		unsigned int i;

		if (ioctl(fd, FS_IOC_MEASURE_VERITY, &m) < 0) {
			int err = errno;

			perror("FS_IOC_MEASURE_VERITY");
			return err;
		}
		printf("%s:", m.d.digest_algorithm == FS_VERITY_HASH_ALG_SHA512 ? "sha512" : "sha256");
		for (i = 0; i < m.d.digest_size; i++)
			printf("%02x", m.d.digest[i]);
		putchar('\n');
		return 0;
	}
	fprintf(stderr, "cfs-verity: unknown command %s\n", argv[1]);
	return 2;
}
