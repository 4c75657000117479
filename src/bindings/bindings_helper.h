/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers whose declarations the kernel's Rust bindings leave out (or only
 * forward-declare). The module generates bindings for them at build time;
 * see bindgen_parameters for what is taken from them.
 */
#include <linux/backing-file.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/fsverity.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/statfs.h>
#include <linux/pagemap.h>
#include <uapi/linux/fsverity.h>
#include <linux/posix_acl_xattr.h>
#include <linux/exportfs.h>
