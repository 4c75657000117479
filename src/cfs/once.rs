// SPDX-License-Identifier: GPL-2.0

//! A value set at most once and kept, shared by readers without locks.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;

/// A boxed value set at most once (the first of concurrent setters wins)
/// and kept until the holder is dropped.
///
/// # Invariants
///
/// `0` is null or a pointer from `KBox::into_raw` owned by this object, set
/// at most once and freed only on drop.
pub(crate) struct OnceBox<T>(AtomicPtr<T>);

impl<T> OnceBox<T> {
    /// Nothing set yet.
    pub(crate) const fn new() -> Self {
        Self(AtomicPtr::new(core::ptr::null_mut()))
    }

    /// The value, if it was set.
    pub(crate) fn get(&self) -> Option<&T> {
        // Acquire: pairs with the release of `set`, so the value is seen
        // initialised.
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: By the type invariant a non-null pointer is a live box,
        // freed only when `self` is dropped.
        unsafe { p.as_ref() }
    }

    /// Keeps `value` unless another caller set one first; returns the kept
    /// one.
    pub(crate) fn set(&self, value: T) -> Result<&T> {
        let new = KBox::into_raw(KBox::new(value, GFP_KERNEL)?);
        match self.0.compare_exchange(
            core::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: `new` was stored: by the type invariant it lives as
            // long as `self`.
            Ok(_) => Ok(unsafe { &*new }),
            Err(old) => {
                // SAFETY: `new` was not stored: it is still owned here.
                drop(unsafe { KBox::from_raw(new) });
                // SAFETY: `old` is the non-null pointer stored first, live
                // as long as `self`.
                unsafe { old.as_ref() }.ok_or(EIO)
            }
        }
    }
}

impl<T> Drop for OnceBox<T> {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: By the type invariant a non-null pointer is a box
            // owned by this object.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

// SAFETY: The box is only shared (`&T` from `get`) and moved in from
// `set`; sending the holder sends the value.
unsafe impl<T: Send> Send for OnceBox<T> {}
// SAFETY: `&OnceBox<T>` hands out `&T` and takes `T` by value.
unsafe impl<T: Send + Sync> Sync for OnceBox<T> {}
