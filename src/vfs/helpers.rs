// SPDX-License-Identifier: GPL-2.0

//! Prototypes of the one-line C wrappers in `src/helpers.c`.
//!
//! Each wraps a static inline function or a macro of the same name without
//! the `cfs_` prefix; their contracts are those of the wrapped C code.

use super::bindings;
use kernel::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

// The kernel's bindings allow `improper_ctypes` for the same structures
// (`super_block`, `inode` and others contain zero-length arrays).
#[allow(improper_ctypes)]
extern "C" {
    pub(crate) fn cfs_alloc_inode_sb(
        sb: *mut bindings::super_block,
        cache: *mut bindings::kmem_cache,
    ) -> *mut c_void;
    pub(crate) fn cfs_inode_is_new(inode: *mut bindings::inode) -> bool;
    pub(crate) fn cfs_i_size_write(inode: *mut bindings::inode, size: i64);
    pub(crate) fn cfs_i_size_read(inode: *const bindings::inode) -> i64;
    pub(crate) fn cfs_i_uid_write(inode: *mut bindings::inode, uid: u32);
    pub(crate) fn cfs_i_gid_write(inode: *mut bindings::inode, gid: u32);
    pub(crate) fn cfs_inode_set_mtime(inode: *mut bindings::inode, sec: i64, nsec: c_long);
    pub(crate) fn cfs_inode_set_atime(inode: *mut bindings::inode, sec: i64, nsec: c_long);
    pub(crate) fn cfs_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const c_char,
        namelen: c_int,
        ino: u64,
        typ: c_uint,
    ) -> bool;
    pub(crate) fn cfs_kmap_local_folio(folio: *mut bindings::folio, offset: usize) -> *mut c_void;
    pub(crate) fn cfs_kunmap_local(addr: *const c_void);
    pub(crate) fn cfs_folio_put(folio: *mut bindings::folio);
    pub(crate) fn cfs_folio_get(folio: *mut bindings::folio);
    pub(crate) fn cfs_folio_mapping(folio: *const bindings::folio) -> *mut bindings::address_space;
    pub(crate) fn cfs_folio_size(folio: *mut bindings::folio) -> usize;
    pub(crate) fn cfs_folio_nid(folio: *const bindings::folio) -> c_int;
    pub(crate) fn cfs_folio_memcg(folio: *mut bindings::folio) -> *mut bindings::mem_cgroup;
    pub(crate) fn cfs_mem_cgroup_is_root(memcg: *mut bindings::mem_cgroup) -> bool;
    pub(crate) fn cfs_folio_pos(folio: *mut bindings::folio) -> i64;
    pub(crate) fn cfs_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    pub(crate) fn cfs_d_inode(dentry: *const bindings::dentry) -> *mut bindings::inode;
    pub(crate) fn cfs_deny_write_access(file: *mut bindings::file) -> c_int;
    pub(crate) fn cfs_allow_write_access(file: *mut bindings::file);
    pub(crate) fn cfs_seq_show_option(
        m: *mut bindings::seq_file,
        name: *const c_char,
        value: *const c_char,
    );
    pub(crate) fn cfs_ratelimit() -> bool;
    pub(crate) fn cfs_init_sync_kiocb(kiocb: *mut bindings::kiocb, filp: *mut bindings::file);
    pub(crate) fn cfs_iocb_nowait() -> c_int;
    pub(crate) fn cfs_iov_iter_count(i: *const bindings::iov_iter) -> usize;
    pub(crate) fn cfs_get_current_cred() -> *const bindings::cred;
    pub(crate) fn cfs_override_creds(cred: *const bindings::cred) -> *const bindings::cred;
    pub(crate) fn cfs_revert_creds(cred: *const bindings::cred) -> *const bindings::cred;
    pub(crate) fn cfs_iocb_flags(file: *mut bindings::file) -> c_int;
    pub(crate) fn cfs_mnt_idmap(mnt: *const bindings::vfsmount) -> *mut bindings::mnt_idmap;
    pub(crate) fn cfs_sb_has_encoding(sb: *const bindings::super_block) -> bool;
    pub(crate) fn cfs_cache_no_acl(inode: *mut bindings::inode);
    pub(crate) fn cfs_shmem_read_folio(
        mapping: *mut bindings::address_space,
        index: usize,
    ) -> *mut bindings::folio;
    pub(crate) fn cfs_folio_address(folio: *const bindings::folio) -> *mut c_void;
    pub(crate) fn cfs_shmem_mapping(mapping: *const bindings::address_space) -> bool;
    pub(crate) fn cfs_filemap_get_folio_accessed(
        mapping: *mut bindings::address_space,
        index: usize,
    ) -> *mut bindings::folio;
    pub(crate) fn cfs_folio_test_uptodate(folio: *const bindings::folio) -> bool;
    pub(crate) fn cfs_file_ra_pages(file: *const bindings::file) -> c_uint;
    pub(crate) fn cfs_file_sync_readahead(
        file: *mut bindings::file,
        index: usize,
        req_count: c_ulong,
    );
    pub(crate) fn cfs_folio_host(folio: *mut bindings::folio) -> *mut bindings::inode;
    pub(crate) fn cfs_inode_set_fop(
        inode: *mut bindings::inode,
        fop: *const bindings::file_operations,
    );
    pub(crate) fn cfs_generic_setlease(
        file: *mut bindings::file,
        arg: c_int,
        lease: *mut *mut bindings::file_lease,
        private: *mut *mut c_void,
    ) -> c_int;
    pub(crate) fn cfs_posix_acl_from_xattr(
        value: *const c_void,
        size: usize,
    ) -> *mut bindings::posix_acl;
    pub(crate) fn cfs_dentry_name(dentry: *const bindings::dentry, len: *mut u32) -> *const u8;
}

/// Whether a rate-limited message may be printed now (`__ratelimit` on the
/// module's ratelimit state).
pub(crate) fn ratelimit() -> bool {
    // SAFETY: The helper only touches its own static ratelimit state.
    unsafe { cfs_ratelimit() }
}

/// Whether the current task has `CAP_SYS_ADMIN` in the initial user
/// namespace (checked without auditing, as listing `trusted.*` does).
pub(crate) fn capable_sys_admin() -> bool {
    capable_noaudit(bindings::CAP_SYS_ADMIN)
}

/// Whether the current task has `CAP_DAC_OVERRIDE` in the initial user
/// namespace (checked without auditing).
pub(crate) fn capable_dac_override() -> bool {
    capable_noaudit(bindings::CAP_DAC_OVERRIDE)
}

/// Whether the current task has capability `cap` in the initial user
/// namespace, checked without auditing.
fn capable_noaudit(cap: u32) -> bool {
    // SAFETY: `init_user_ns` is a static that lives forever;
    // `ns_capable_noaudit` only reads it and the current credentials.
    unsafe { bindings::ns_capable_noaudit(&raw mut bindings::init_user_ns, cap as c_int) }
}
