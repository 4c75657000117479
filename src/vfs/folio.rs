// SPDX-License-Identifier: GPL-2.0

//! Folios of the page cache: references, the locked folio of a
//! `read_folio`, and the scoped mapping of its pages.
//!
//! C header: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h)

use super::bindings;
use super::helpers;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{ffi::c_int, page::PAGE_SIZE, prelude::*};

/// A locked folio being read in (`read_folio`).
///
/// # Invariants
///
/// `folio` is locked, not uptodate, and owned by the running `read_folio`.
pub(crate) struct LockedFolio<'a> {
    pub(super) folio: *mut bindings::folio,
    pub(super) _p: PhantomData<&'a mut bindings::folio>,
}

impl LockedFolio<'_> {
    /// File position of the folio's first byte.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the folio is valid.
        unsafe { helpers::cfs_folio_pos(self.folio) }
    }

    /// Size of the folio in bytes.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: By the type invariant the folio is valid.
        unsafe { helpers::cfs_folio_size(self.folio) }
    }

    /// Calls `f` on each page of the folio in turn, with the file position
    /// of the page and its bytes mapped for writing.
    pub(crate) fn fill_pages(&mut self, mut f: impl FnMut(i64, &mut [u8]) -> Result) -> Result {
        let size = self.size();
        let pos = self.pos();
        let mut off = 0usize;
        while off < size {
            // SAFETY: By the type invariant the folio is locked and ours;
            // `off` is below its size, so the page at `off` exists.
            let p = unsafe { helpers::cfs_kmap_local_folio(self.folio, off) }.cast::<u8>();
            // SAFETY: `kmap_local_folio` maps the whole page at `off`, which
            // nobody else accesses while the folio is locked and not uptodate.
            let page = unsafe { core::slice::from_raw_parts_mut(p, PAGE_SIZE) };
            let r = f(pos + off as i64, page);
            // SAFETY: Unmaps what was mapped above, in LIFO order.
            unsafe { helpers::cfs_kunmap_local(p.cast()) };
            r?;
            off += PAGE_SIZE;
        }
        Ok(())
    }
}

/// A reference to a folio.
///
/// # Invariants
///
/// `0` is a folio with a reference owned by this object.
pub(super) struct FolioRef(pub(super) NonNull<bindings::folio>);

impl FolioRef {
    /// The folio.
    pub(super) fn as_ptr(&self) -> *mut bindings::folio {
        self.0.as_ptr()
    }
}

impl Clone for FolioRef {
    fn clone(&self) -> Self {
        // SAFETY: By the type invariant the folio is referenced, so taking
        // another reference is allowed.
        unsafe { helpers::cfs_folio_get(self.as_ptr()) };
        // INVARIANT: the reference just taken.
        Self(self.0)
    }
}

impl Drop for FolioRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own a reference.
        unsafe { helpers::cfs_folio_put(self.as_ptr()) };
    }
}

// SAFETY: A folio reference is not tied to a task: `folio_put` may be
// called on any task in process context.
unsafe impl Send for FolioRef {}

/// What one call of a superblock's shrinker may reclaim (`struct
/// shrink_control`): the shrinker is NUMA- and memcg-aware, so it is asked
/// per node and per memory cgroup, and counts and frees only the objects
/// charged to that node and cgroup, or the reclaim of one cgroup would take
/// what another one's tasks use.
///
/// # Invariants
///
/// `memcg` is NULL or a memory cgroup alive for `'a`, the shrinker call.
pub(crate) struct ShrinkScope<'a> {
    /// The node being shrunk.
    nid: c_int,
    /// The memory cgroup being shrunk; NULL without memory cgroups.
    memcg: *mut bindings::mem_cgroup,
    /// The shrink control the scope was read from, borrowed for the call.
    _call: PhantomData<&'a bindings::shrink_control>,
}

impl ShrinkScope<'_> {
    /// The scope of shrink control `sc`.
    ///
    /// # Safety
    ///
    /// `sc` must be a valid shrink control of a running shrinker call, whose
    /// memory cgroup (if any) stays alive as long as the returned scope, as
    /// the shrinker guarantees for the call.
    pub(crate) unsafe fn from_raw(sc: *const bindings::shrink_control) -> Self {
        // SAFETY: Per the function's contract `sc` is valid for reads.
        let (nid, memcg) = unsafe { ((*sc).nid, (*sc).memcg) };
        // INVARIANT: per the function's contract the cgroup outlives the scope.
        Self {
            nid,
            memcg,
            _call: PhantomData,
        }
    }

    /// Whether `folio` is charged to this scope's node and memory cgroup.
    /// An uncharged folio counts as the root cgroup's, as reclaim treats
    /// it. The answer may be stale at once (a cgroup's charges move to its
    /// parent when it goes away); the shrinker only needs a fair count.
    pub(super) fn covers(&self, folio: &FolioRef) -> bool {
        // SAFETY: `folio` is referenced, so valid.
        if unsafe { helpers::cfs_folio_nid(folio.as_ptr()) } != self.nid {
            return false;
        }
        if self.memcg.is_null() {
            return true;
        }
        let _rcu = kernel::sync::rcu::read_lock();
        // SAFETY: `folio` is referenced, so valid; the RCU read lock is held,
        // as `folio_memcg` requires of its caller.
        let charged = unsafe { helpers::cfs_folio_memcg(folio.as_ptr()) };
        charged == self.memcg
            // SAFETY: By the type invariant the cgroup is alive.
            || (charged.is_null() && unsafe { helpers::cfs_mem_cgroup_is_root(self.memcg) })
    }
}
