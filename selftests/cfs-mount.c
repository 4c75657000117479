// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-mount: a tiny static mount helper for the guest.
 *
 * busybox mount turns every regular-file source into a loop device, so the
 * tests, the demo and the benchmark mount through this helper instead, with
 * the source passed to the kernel exactly as given.
 *
 *   cfs-mount [-t TYPE] [-o OPTS] SOURCE TARGET    mount(2)
 *   cfs-mount -N [-t TYPE] [-o OPTS] SOURCE TARGET fsopen/fsconfig/fsmount/move_mount
 *   cfs-mount -w ...                               mount(2) without MS_RDONLY
 *   cfs-mount -u [-l] TARGET                       umount2(2) (-l: MNT_DETACH)
 *   cfs-mount -b CYCLES -t TYPE -o OPTS SOURCE TARGET [TYPE2 OPTS2 SOURCE2 TARGET2]
 *       mount + unmount CYCLES times in one process and print the mean
 *       microseconds per cycle; with a second mount given, each cycle mounts
 *       both, detaches the first and unmounts the second (the EROFS +
 *       overlayfs reference stack).
 *
 * On failure it prints the error (and, with -N, the filesystem's own
 * messages from the fs_context log) and exits with the errno value, so a
 * test can check which error the kernel returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef FSCONFIG_SET_FLAG
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

static int sys_fsopen(const char *fs, unsigned int flags)
{
	return syscall(SYS_fsopen, fs, flags);
}

static int sys_fsconfig(int fd, unsigned int cmd, const char *key,
			const void *value, int aux)
{
	return syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static int sys_fsmount(int fd, unsigned int flags, unsigned int attr)
{
	return syscall(SYS_fsmount, fd, flags, attr);
}

static int sys_move_mount(int from_dfd, const char *from, int to_dfd,
			  const char *to, unsigned int flags)
{
	return syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

/* Print what the filesystem logged into the fs_context. */
static void drain_log(int fd)
{
	char buf[1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		fprintf(stderr, "cfs-mount: kernel: %s\n", buf);
	}
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "cfs-mount: %s: %s (errno %d)\n", what, strerror(err), err);
	return err ? err : 1;
}

/* Mount with the new mount API; options are comma separated. */
static int mount_new(const char *type, const char *opts, const char *source,
		     const char *target)
{
	char *copy = strdup(opts ? opts : ""), *save = NULL, *opt;
	int fd, mfd, err;

	fd = sys_fsopen(type, 0);
	if (fd < 0)
		return fail("fsopen", errno);
	if (sys_fsconfig(fd, FSCONFIG_SET_STRING, "source", source, 0) < 0) {
		err = errno;
		drain_log(fd);
		return fail("fsconfig source", err);
	}
	for (opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int ret;

		if (eq) {
			*eq = '\0';
			ret = sys_fsconfig(fd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
		} else {
			ret = sys_fsconfig(fd, FSCONFIG_SET_FLAG, opt, NULL, 0);
		}
		if (ret < 0) {
			err = errno;
			drain_log(fd);
			return fail(opt, err);
		}
	}
	if (sys_fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		err = errno;
		drain_log(fd);
		return fail("fsconfig create", err);
	}
	drain_log(fd);
	mfd = sys_fsmount(fd, 0, MOUNT_ATTR_RDONLY);
	if (mfd < 0)
		return fail("fsmount", errno);
	if (sys_move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail("move_mount", errno);
	close(mfd);
	close(fd);
	free(copy);
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Mount/unmount cycles in one process; prints microseconds per cycle. */
static int bench(long cycles, char **m1, char **m2)
{
	double start = now_us();
	long i;

	for (i = 0; i < cycles; i++) {
		if (mount(m1[2], m1[3], m1[0], MS_RDONLY, m1[1]) < 0)
			return fail("mount", errno);
		if (m2) {
			if (mount(m2[2], m2[3], m2[0], MS_RDONLY, m2[1]) < 0)
				return fail("mount 2", errno);
			if (umount2(m1[3], MNT_DETACH) < 0)
				return fail("detach", errno);
			if (umount2(m2[3], 0) < 0)
				return fail("umount 2", errno);
		} else if (umount2(m1[3], 0) < 0) {
			return fail("umount", errno);
		}
	}
	printf("%.1f\n", (now_us() - start) / cycles);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: cfs-mount [-N|-w] [-t TYPE] [-o OPTS] SOURCE TARGET\n"
		"       cfs-mount -u [-l] TARGET\n"
		"       cfs-mount -b CYCLES -t TYPE -o OPTS SOURCE TARGET [TYPE2 OPTS2 SOURCE2 TARGET2]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *type = "composefs", *opts = NULL;
	int new_api = 0, unmount = 0, lazy = 0, writable = 0, c;
	long cycles = 0;

	while ((c = getopt(argc, argv, "Nt:o:ulwb:")) != -1) {
		switch (c) {
		case 'N': new_api = 1; break;
		case 't': type = optarg; break;
		case 'o': opts = optarg; break;
		case 'u': unmount = 1; break;
		case 'l': lazy = 1; break;
		case 'w': writable = 1; break;
		case 'b': cycles = strtol(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	argv += optind;
	argc -= optind;

	if (unmount) {
		if (argc != 1)
			return usage();
		if (umount2(argv[0], lazy ? MNT_DETACH : 0) < 0)
			return fail("umount", errno);
		return 0;
	}
	if (cycles > 0) {
		char *m1[4] = { (char *)type, (char *)opts, NULL, NULL };

		if (argc != 2 && argc != 6)
			return usage();
		m1[2] = argv[0];
		m1[3] = argv[1];
		return bench(cycles, m1, argc == 6 ? argv + 2 : NULL);
	}
	if (argc != 2)
		return usage();
	if (new_api)
		return mount_new(type, opts, argv[0], argv[1]);
	if (mount(argv[0], argv[1], type, writable ? 0 : MS_RDONLY, opts) < 0)
		return fail("mount", errno);
	return 0;
}
