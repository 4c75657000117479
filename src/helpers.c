// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for the static inline functions and macros the Rust
 * side of composefs calls. Like the kernel's rust/helpers/: no logic here.
 */
#include <linux/fs.h>

