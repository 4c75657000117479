// SPDX-License-Identifier: GPL-2.0
/*
 * A deliberately broken module that proves selftests/vm-run catches kernel
 * reports: loaded with mode=warn it triggers a WARN, with mode=leak it leaks
 * an allocation for kmemleak to find. scripts/check.sh loads each in a guest
 * and expects vm-run to fail the run.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *mode = "warn";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "warn or leak");

/*
 * Overwrite the stack below the caller's frame, where kmalloc() and its
 * callees left copies of the pointers just returned. kmemleak scans whole
 * task stacks, including the cached stack of an exited task (insmod's, on
 * whichever CPU it ran), so a stale copy there would keep the leak hidden.
 */
static noinline void canary_scrub_stack(void)
{
	char buf[1536];

	memzero_explicit(buf, sizeof(buf));
}

/* Leak a few objects of different sizes; any one report fails the run. */
static noinline void canary_leak(void)
{
	int i;

	for (i = 0; i < 8; i++) {
		void *p = kmalloc(64 << (i % 4), GFP_KERNEL);

		OPTIMIZER_HIDE_VAR(p);
	}
}

static int __init canary_init(void)
{
	if (!strcmp(mode, "warn")) {
		WARN(1, "composefs selftest canary: deliberate warning\n");
	} else if (!strcmp(mode, "leak")) {
		canary_leak();
		canary_scrub_stack();
	}
	return 0;
}

static void __exit canary_exit(void)
{
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_DESCRIPTION("composefs selftest canary: provokes a WARN or a leak");
MODULE_LICENSE("GPL");
