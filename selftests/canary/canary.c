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

static void *leaked;

static int __init canary_init(void)
{
	if (!strcmp(mode, "warn")) {
		WARN(1, "composefs selftest canary: deliberate warning\n");
	} else if (!strcmp(mode, "leak")) {
		WRITE_ONCE(leaked, kmalloc(4096, GFP_KERNEL));
		/* Forget the only reference so that kmemleak reports it. */
		WRITE_ONCE(leaked, NULL);
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
