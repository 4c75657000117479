// SPDX-License-Identifier: GPL-2.0
/*
 * cfs-resident FILE: print how many of FILE's pages are in the page cache
 * (mincore(2) over a shared read-only mapping), and the file's page count:
 * "RESIDENT TOTAL". Used to show that composefs files share the page cache
 * of their backing objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *vec;
	size_t pages, i, resident = 0;
	struct stat st;
	void *m;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: cfs-resident FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return errno;
	}
	pages = (st.st_size + page - 1) / page;
	if (!pages) {
		printf("0 0\n");
		return 0;
	}
	m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(pages);
	if (m == MAP_FAILED || !vec || mincore(m, st.st_size, vec) < 0) {
		perror("mincore");
		return errno ? errno : 1;
	}
	for (i = 0; i < pages; i++)
		resident += vec[i] & 1;
	printf("%zu %zu\n", resident, pages);
	return 0;
}
