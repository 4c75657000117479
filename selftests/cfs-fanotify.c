// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-fanotify MOUNTPOINT FILE: watch the filesystem of MOUNTPOINT with
 * fanotify in FID mode (FAN_REPORT_FID, which needs the filesystem's file
 * handles), open and read FILE, and check that the events carry a file
 * handle that reopens FILE. Exits 0 on success, else the errno of the
 * failing call (or 1 when no usable event arrived).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what)
{
	int err = errno;

	fprintf(stderr, "cfs-fanotify: %s: %s\n", what, strerror(err));
	return err ? err : 1;
}

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8)));
	struct stat want;
	int fan, fd, mfd;
	ssize_t len;
	char c;

	if (argc != 3) {
		fprintf(stderr, "usage: cfs-fanotify MOUNTPOINT FILE\n");
		return 2;
	}
	fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK, O_RDONLY);
	if (fan < 0)
		return fail("fanotify_init");
	if (fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN | FAN_ACCESS | FAN_CLOSE_NOWRITE,
			  AT_FDCWD, argv[1]) < 0)
		return fail("fanotify_mark");
	if (stat(argv[2], &want) < 0)
		return fail(argv[2]);
	fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return fail("open");
	(void)!read(fd, &c, 1);
	close(fd);
	mfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	len = read(fan, buf, sizeof(buf));
	if (len < 0)
		return fail("read events");
	for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
		struct fanotify_event_info_fid *fid = (void *)(m + 1);
		struct stat got;
		int h;

		if (fid->hdr.info_type != FAN_EVENT_INFO_TYPE_FID)
			continue;
		h = open_by_handle_at(mfd, (struct file_handle *)fid->handle, O_PATH);
		if (h < 0)
			return fail("open_by_handle_at of the event's handle");
		if (fstat(h, &got) == 0 && got.st_ino == want.st_ino) {
			printf("# event mask %llx with a handle of the file\n", (unsigned long long)m->mask);
			return 0;
		}
		close(h);
	}
	fprintf(stderr, "cfs-fanotify: no event with a handle of %s\n", argv[2]);
	return 1;
}
