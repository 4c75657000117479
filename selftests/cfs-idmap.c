// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-idmap SOURCE TARGET FROM TO COUNT: make an idmapped bind mount of
 * SOURCE at TARGET that maps ids FROM..FROM+COUNT-1 (uids and gids) to
 * TO..TO+COUNT-1 (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount).
 * The user namespace carrying the mapping belongs to a short-lived child.
 * Exits with the errno of the first failing call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	int err = errno;

	fprintf(stderr, "cfs-idmap: %s: %s\n", what, strerror(err));
	return err ? err : 1;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	char path[64], map[128];
	int pipefd[2], nsfd, tree;
	pid_t pid;
	char c;

	if (argc != 6) {
		fprintf(stderr, "usage: cfs-idmap SOURCE TARGET FROM TO COUNT\n");
		return 2;
	}
	if (pipe(pipefd) < 0)
		return fail("pipe");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		/* Child: enter a new user namespace and wait to be killed. */
		close(pipefd[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!read(pipefd[0], &c, 1);
		_exit(0);
	}
	close(pipefd[0]);
	usleep(100000);
	/* Inside the namespace, id FROM is id TO outside. */
	snprintf(map, sizeof(map), "%s %s %s\n", argv[3], argv[4], argv[5]);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	if (write_file(path, map) < 0)
		return fail("uid_map");
	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	write_file(path, "deny");
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	if (write_file(path, map) < 0)
		return fail("gid_map");
	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	nsfd = open(path, O_RDONLY);
	if (nsfd < 0)
		return fail("open userns");
	close(pipefd[1]);
	waitpid(pid, NULL, 0);

	tree = syscall(SYS_open_tree, AT_FDCWD, argv[1], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return fail("open_tree");
	attr.userns_fd = nsfd;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return fail("mount_setattr");
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, argv[2], MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail("move_mount");
	return 0;
}
