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
 *       With -N an option KEY@fd=N is given as file descriptor N
 *       (FSCONFIG_SET_FD; N is inherited, e.g. opened by the shell), and
 *       KEY@opath=PATH as an O_PATH descriptor of PATH; SOURCE "-" sets
 *       no source string (give it as source@fd=N).
 *   cfs-mount -N -D FILE ... SOURCE TARGET         before move_mount, copy FILE,
 *       relative to the detached mount fsmount(2) returned, to stdout;
 *       TARGET "-" leaves the mount detached (closed, so it goes away)
 *   cfs-mount -w ...                               mount(2) without MS_RDONLY
 *   cfs-mount -C ...                               mount without CAP_DAC_OVERRIDE
 *       and CAP_DAC_READ_SEARCH (dropped from this process's capabilities
 *       first), so that the mounter's credentials, which both composefs and
 *       overlayfs keep for their backing files, honour file modes
 *   cfs-mount -u [-l] TARGET                       umount2(2) (-l: MNT_DETACH)
 *   cfs-mount -r [-o OPTS] TARGET                  remount as mount(8) of util-linux
 *       does: the options it knows as mount flags (ro, nosuid, relatime, ...)
 *       become MS_* flags, the rest the data string of mount(2) MS_REMOUNT
 *   cfs-mount -r -N [-o OPTS] TARGET               remount through fspick(2),
 *       fsconfig(2) per option and FSCONFIG_CMD_RECONFIGURE
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
#include <linux/capability.h>
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
#ifndef FSCONFIG_SET_FD
#define FSCONFIG_SET_FD 5
#endif
#ifndef FSCONFIG_CMD_RECONFIGURE
#define FSCONFIG_CMD_RECONFIGURE 7
#endif
#ifndef FSPICK_CLOEXEC
#define FSPICK_CLOEXEC 0x00000001
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

/*
 * Give each "key=value" or "flag" of the comma-separated OPTS (modified in
 * place) to the filesystem context FD; on failure the exit status fail()
 * returns for the option the kernel refused.
 */
static int set_options(int fd, char *opts)
{
	char *save = NULL, *opt;

	for (opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int ret, err;

		char *at = strchr(opt, '@');

		if (at && eq && at < eq && (!strncmp(at, "@fd=", 4) || !strncmp(at, "@opath=", 7))) {
			int vfd;

			*at = '\0';
			if (at[1] == 'f') {
				vfd = atoi(eq + 1);
			} else {
				vfd = open(eq + 1, O_PATH);
				if (vfd < 0)
					return fail(eq + 1, errno);
			}
			ret = sys_fsconfig(fd, FSCONFIG_SET_FD, opt, NULL, vfd);
		} else if (eq) {
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
	return 0;
}

/* Mount with the new mount API; options are comma separated. */
static int mount_new(const char *type, const char *opts, const char *source,
		     const char *target, const char *detached_file)
{
	char *copy = strdup(opts ? opts : "");
	int fd, mfd, err;

	fd = sys_fsopen(type, 0);
	if (fd < 0)
		return fail("fsopen", errno);
	if (strcmp(source, "-") && sys_fsconfig(fd, FSCONFIG_SET_STRING, "source", source, 0) < 0) {
		err = errno;
		drain_log(fd);
		return fail("fsconfig source", err);
	}
	err = set_options(fd, copy);
	if (err)
		return err;
	if (sys_fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		err = errno;
		drain_log(fd);
		return fail("fsconfig create", err);
	}
	drain_log(fd);
	mfd = sys_fsmount(fd, 0, MOUNT_ATTR_RDONLY);
	if (mfd < 0)
		return fail("fsmount", errno);
	if (detached_file) {
		char buf[65536];
		ssize_t n;
		int ffd = openat(mfd, detached_file, O_RDONLY);

		if (ffd < 0)
			return fail(detached_file, errno);
		while ((n = read(ffd, buf, sizeof(buf))) > 0)
			if (write(1, buf, n) != n)
				return fail("write", errno);
		if (n < 0)
			return fail("read", errno);
		close(ffd);
	}
	if (!strcmp(target, "-")) {
		close(mfd);
		close(fd);
		free(copy);
		return 0;
	}
	if (sys_move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail("move_mount", errno);
	close(mfd);
	close(fd);
	free(copy);
	return 0;
}

/*
 * The options mount(8) turns into mount flags (util-linux's linux flag map,
 * the ones /proc/mounts can list); set: flag to add, clear: flag to remove.
 */
static const struct { const char *name; unsigned long set, clear; } mnt_flags[] = {
	{ "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
	{ "noatime", MS_NOATIME, 0 }, { "nodiratime", MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0 }, { "strictatime", MS_STRICTATIME, 0 },
	{ "lazytime", MS_LAZYTIME, 0 },
};

/* Remount TARGET with OPTS through mount(2), as mount(8) sends them. */
static int remount_legacy(const char *opts, const char *target)
{
	char *copy = strdup(opts ? opts : ""), *save = NULL, *opt;
	char data[4096] = "";
	unsigned long flags = MS_REMOUNT;
	size_t i;

	for (opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(mnt_flags) / sizeof(mnt_flags[0]); i++)
			if (!strcmp(opt, mnt_flags[i].name))
				break;
		if (i < sizeof(mnt_flags) / sizeof(mnt_flags[0])) {
			flags = (flags | mnt_flags[i].set) & ~mnt_flags[i].clear;
			continue;
		}
		if (strlen(data) + strlen(opt) + 2 > sizeof(data))
			return fail("options", E2BIG);
		if (data[0])
			strcat(data, ",");
		strcat(data, opt);
	}
	free(copy);
	if (mount(NULL, target, NULL, flags, data[0] ? data : NULL) < 0)
		return fail("remount", errno);
	return 0;
}

/* Reconfigure the superblock of TARGET with the new mount API. */
static int remount_new(const char *opts, const char *target)
{
	char *copy = strdup(opts ? opts : "");
	int fd, err;

	fd = syscall(SYS_fspick, AT_FDCWD, target, FSPICK_CLOEXEC);
	if (fd < 0)
		return fail("fspick", errno);
	err = set_options(fd, copy);
	if (err)
		return err;
	if (sys_fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0) {
		err = errno;
		drain_log(fd);
		return fail("fsconfig reconfigure", err);
	}
	drain_log(fd);
	close(fd);
	free(copy);
	return 0;
}

/* Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from every set. */
static int drop_dac_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	__u32 mask = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);

	if (syscall(SYS_capget, &h, d) < 0)
		return fail("capget", errno);
	d[0].effective &= ~mask;
	d[0].permitted &= ~mask;
	d[0].inheritable &= ~mask;
	if (syscall(SYS_capset, &h, d) < 0)
		return fail("capset", errno);
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
		"usage: cfs-mount [-N [-D FILE]|-w] [-C] [-t TYPE] [-o OPTS] SOURCE TARGET\n"
		"       cfs-mount -u [-l] TARGET\n"
		"       cfs-mount -r [-N] [-o OPTS] TARGET\n"
		"       cfs-mount -b CYCLES -t TYPE -o OPTS SOURCE TARGET [TYPE2 OPTS2 SOURCE2 TARGET2]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *type = "composefs", *opts = NULL, *detached_file = NULL;
	int new_api = 0, unmount = 0, lazy = 0, writable = 0, remount = 0, nodac = 0, c;
	long cycles = 0;

	while ((c = getopt(argc, argv, "Nt:o:ulwrCb:D:")) != -1) {
		switch (c) {
		case 'N': new_api = 1; break;
		case 't': type = optarg; break;
		case 'o': opts = optarg; break;
		case 'u': unmount = 1; break;
		case 'l': lazy = 1; break;
		case 'w': writable = 1; break;
		case 'r': remount = 1; break;
		case 'C': nodac = 1; break;
		case 'b': cycles = strtol(optarg, NULL, 10); break;
		case 'D': detached_file = optarg; break;
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
	if (nodac && drop_dac_caps())
		return 1;
	if (remount) {
		if (argc != 1)
			return usage();
		return new_api ? remount_new(opts, argv[0]) : remount_legacy(opts, argv[0]);
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
		return mount_new(type, opts, argv[0], argv[1], detached_file);
	if (mount(argv[0], argv[1], type, writable ? 0 : MS_RDONLY, opts) < 0)
		return fail("mount", errno);
	return 0;
}
