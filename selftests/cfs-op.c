// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-op: one system call on a path, for the tests that need the raw result
 * of a call busybox has no applet for (or hides, as mv hides rename(2)'s
 * EXDEV by copying):
 *
 *   cfs-op rename OLD NEW                rename(2)
 *   cfs-op setxattr PATH NAME VALUE      lsetxattr(2) (VALUE as given)
 *   cfs-op getxattr PATH NAME            lgetxattr(2), prints the value
 *   cfs-op removexattr PATH NAME         lremovexattr(2)
 *
 * Exits with 0 on success, else with the errno value (so that a test can
 * compare the result of the same call on two stacks), after printing it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static int usage(void)
{
	fprintf(stderr, "usage: cfs-op rename OLD NEW | setxattr PATH NAME VALUE |\n"
			"       getxattr PATH NAME | removexattr PATH NAME\n");
	return 2;
}

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t len;
	int ret;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "rename") && argc == 4) {
		ret = rename(argv[2], argv[3]);
	} else if (!strcmp(argv[1], "setxattr") && argc == 5) {
		ret = lsetxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0);
	} else if (!strcmp(argv[1], "removexattr") && argc == 4) {
		ret = lremovexattr(argv[2], argv[3]);
	} else if (!strcmp(argv[1], "getxattr") && argc == 4) {
		len = lgetxattr(argv[2], argv[3], buf, sizeof(buf));
		ret = len < 0 ? -1 : 0;
		if (len >= 0)
			fwrite(buf, 1, len, stdout);
	} else {
		return usage();
	}
	if (ret < 0) {
		int err = errno;

		fprintf(stderr, "cfs-op %s: %s\n", argv[1], strerror(err));
		return err;
	}
	return 0;
}
