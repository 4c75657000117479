// SPDX-License-Identifier: GPL-2.0

//! The composefs filesystem: superblock, mount and the per-object
//! operations, on top of the format reader and the VFS layer.

mod backing;
mod dir;
mod image;
mod inode;
mod options;
mod xattr;

use crate::format::{layout, overlay, reader::Image};
use crate::vfs::{
    file::{SourceError, SourceFile},
    fs_context::{FsContext, FsParam},
    fs_type::FileSystem,
    inode::INode,
    path::Path,
    sb::{NewSuperBlock, SeqFile, StatFs, SuperBlock, SuperParams, MAX_STACK_DEPTH},
};
use core::sync::atomic::AtomicU64;
use image::Source;
use kernel::{cred::Credential, prelude::*, str::CString, sync::aref::ARef};
use options::{Digest, Options, Verity};

/// The composefs filesystem type.
pub(crate) struct Composefs;

/// Per-superblock state.
pub(crate) struct CfsSuper {
    /// The image, read through the page cache of its source.
    image: Image<Source>,
    /// The object directories, searched in order.
    basedirs: KVec<Path>,
    /// The `basedir=` option as given (for `show_options`).
    basedir_opt: Option<CString>,
    /// The mounter's credentials: backing objects are opened with them.
    cred: ARef<Credential>,
    /// fs-verity policy for backing objects.
    verity: Verity,
    /// The `digest=` the image was checked against.
    digest: Option<Digest>,
    /// Inodes visible to users (all but the root's whiteout stubs).
    files: u64,
}

/// Per-inode state: the decoded image inode.
pub(crate) struct CfsInode {
    /// The inode as decoded (and validated) from the image.
    raw: crate::format::Inode,
    /// The error a lookup of this inode fails with, as overlayfs fails it
    /// (an external file whose overlay xattrs cannot lead to data).
    lookup_err: Option<Error>,
    /// How an external file finds and checks its backing object, worked
    /// out when the inode is read so that opens need not search for its
    /// overlay xattrs again; `None` for other inodes.
    overlay: Option<Backing>,
    /// Of a directory: where its last successful lookup found its entry
    /// (block << 32 | index in the block; `u64::MAX`: none yet), where the
    /// next one starts looking. Lookups in readdir order, as `ls -l` or
    /// `find` make them, then mostly compare one name in one block instead
    /// of a binary search's several blocks and names.
    lookup_hint: AtomicU64,
}

/// How an external file finds and checks its backing object.
#[derive(Clone, Copy)]
pub(crate) enum Backing {
    /// What mkcomposefs writes: a sha256 metacopy digest whose object path
    /// is the redirect (`/xx/yyyy...`, the digest in lower-case hex split
    /// after two digits). Both values were read and checked with the inode:
    /// an open reads nothing more from the image.
    Sha256([u8; 32]),
    /// Anything else: where the overlay xattrs are, read again by each
    /// open.
    Xattrs(OverlayXattrs),
}

/// Where the values of an external file's overlay xattrs lie in the image.
#[derive(Clone, Copy)]
pub(crate) struct OverlayXattrs {
    /// `trusted.overlay.metacopy`.
    meta: crate::format::reader::XattrValue,
    /// `trusted.overlay.redirect`, if the file has one, or the error the
    /// search for it ended with.
    redirect: Result<Option<crate::format::reader::XattrValue>>,
}

/// Shorthand for an inode of this filesystem.
type CInode = INode<Composefs>;

impl Composefs {
    /// The superblock data of `inode`.
    fn sbi(inode: &CInode) -> &CfsSuper {
        inode.super_block().data()
    }
}

/// Resolves the `basedir=` list to referenced directories.
fn resolve_basedirs(fc: &FsContext, list: Option<&CString>) -> Result<KVec<Path>> {
    let mut dirs = KVec::new();
    let Some(list) = list else { return Ok(dirs) };
    for d in list.to_bytes().split(|&c| c == b':') {
        let mut buf = KVec::with_capacity(d.len() + 1, GFP_KERNEL)?;
        buf.extend_from_slice(d, GFP_KERNEL)?;
        buf.push(0, GFP_KERNEL)?;
        let name = CStr::from_bytes_with_nul(&buf).map_err(|_| EINVAL)?;
        match Path::lookup_dir(name) {
            Ok(p) => dirs.push(p, GFP_KERNEL)?,
            Err(e) => {
                fc.error_arg(c"cannot resolve basedir", name);
                return Err(e);
            }
        }
    }
    Ok(dirs)
}

/// Checks the image's fs-verity digest against `digest=`.
fn check_image_digest(fc: &FsContext, src: &SourceFile, want: &Digest) -> Result {
    if src.is_bdev() {
        fc.error(c"digest= needs an image file, not a block device");
        return Err(EINVAL);
    }
    let mut got = [0u8; 64];
    let Some((algo, len)) = src.verity_digest(&mut got) else {
        fc.error(c"the image has no fs-verity digest");
        return Err(ENODATA);
    };
    if algo != want.algo || got.get(..len) != Some(want.as_bytes()) {
        fc.error(c"the image has the wrong fs-verity digest");
        return Err(EIO);
    }
    Ok(())
}

/// Counts the root's whiteout stubs (`00`..`ff`), which users never see.
fn count_stubs(image: &Image<Source>) -> u64 {
    let Ok(root) = image.inode(image.root_nid()) else {
        return 0;
    };
    let mut n = 0u64;
    let _ = image.readdir(&root, 0, |e, _| {
        if e.file_type == layout::EROFS_FT_CHRDEV && overlay::is_whiteout_stub_name(e.name) {
            n += 1;
        }
        true
    });
    n
}

impl FileSystem for Composefs {
    const NAME: &'static CStr = c"composefs";
    const FLAGS: i32 = crate::vfs::fs_type::flags::ALLOW_IDMAP;
    const INODE_CACHE_NAME: &'static CStr = c"composefs_inode";

    type Options = Options;
    type Data = CfsSuper;
    type INodeData = CfsInode;

    fn parse_param(fc: &mut FsContext, opts: &mut Options, param: &FsParam<'_>) -> Result {
        options::parse(fc, opts, param)
    }

    fn fill_super(
        fc: &mut FsContext,
        opts: &mut Options,
        sb: &NewSuperBlock<Self>,
    ) -> Result<KBox<CfsSuper>> {
        if fc.wants_rw() {
            fc.error(c"read-only filesystem, rw is not supported");
            return Err(EINVAL);
        }
        if opts.digest.is_some() && opts.verity == Some(Verity::Off) {
            fc.error(c"digest= needs fs-verity: it cannot be combined with verity=off");
            return Err(EINVAL);
        }
        let Some(source) = fc.source() else {
            fc.error(c"no image given (source)");
            return Err(EINVAL);
        };
        let src = match SourceFile::open(source) {
            Ok(s) => s,
            Err(e) => {
                let msg = match e {
                    SourceError::Open(_) => c"cannot open image",
                    SourceError::NotFileOrBdev => c"image is neither a file nor a block device",
                    SourceError::Stacked => c"image files on stacked filesystems are refused",
                    SourceError::NoPageCache => {
                        c"the image's filesystem cannot read it through the page cache"
                    }
                };
                fc.error_arg(msg, source);
                return Err(e.errno());
            }
        };
        if let Some(d) = &opts.digest {
            check_image_digest(fc, &src, d)?;
        }
        let image = match Image::open(Source(src)) {
            Ok(i) => i,
            Err(e) => {
                pr_err!("{}: invalid image: {}\n", source, e.message());
                fc.error(c"invalid image (see the kernel log)");
                return Err(if e.is_corruption() {
                    EINVAL
                } else {
                    image::to_error(e, "open", 0)
                });
            }
        };
        let basedirs = resolve_basedirs(fc, opts.basedir.as_ref())?;
        // Backing files are opened through the basedirs' filesystems: stack
        // on top of the deepest, within the kernel's limit (as overlayfs).
        let stack_depth = basedirs.iter().map(|p| p.stack_depth()).max().unwrap_or(0) + 1;
        if stack_depth > MAX_STACK_DEPTH {
            fc.error(c"basedir filesystems are stacked too deep");
            return Err(EINVAL);
        }
        let has_acl = image.header().flags & layout::COMPOSEFS_FLAGS_HAS_ACL != 0;
        sb.init(&SuperParams {
            magic: u64::from(layout::COMPOSEFS_MAGIC),
            blocksize_bits: 12,
            maxbytes: i64::MAX,
            time_gran: 1,
            posix_acl: opts.acl.unwrap_or(has_acl),
            stack_depth,
        });
        let stubs = count_stubs(&image);
        let files = image.superblock().inos.saturating_sub(stubs);
        let verity = match (opts.verity, opts.digest.is_some()) {
            (Some(v), _) => v,
            (None, true) => Verity::Require,
            (None, false) => Verity::On,
        };
        Ok(KBox::new(
            CfsSuper {
                image,
                basedirs,
                basedir_opt: opts.basedir.take(),
                cred: crate::vfs::current_cred(),
                verity,
                digest: opts.digest,
                files,
            },
            GFP_KERNEL,
        )?)
    }

    fn root(sb: &SuperBlock<Self>) -> Result<ARef<CInode>> {
        let root = sb.data().image.root_nid();
        inode::iget(sb, root)
    }

    fn reconfigure(fc: &mut FsContext, opts: &mut Options, _sb: &SuperBlock<Self>) -> Result {
        if fc.wants_rw() {
            fc.error(c"read-only filesystem, rw is not supported");
            return Err(EINVAL);
        }
        if opts.basedir.is_some()
            || opts.digest.is_some()
            || opts.verity.is_some()
            || opts.acl.is_some()
        {
            fc.error(c"options cannot be changed by a remount");
            return Err(EINVAL);
        }
        fc.set_sb_flags(crate::vfs::sb::SB_RDONLY);
        Ok(())
    }

    fn statfs(sb: &SuperBlock<Self>, buf: &mut StatFs) -> Result {
        let d = sb.data();
        buf.magic = u64::from(layout::COMPOSEFS_MAGIC);
        buf.bsize = 4096;
        buf.blocks = d.image.size().div_ceil(4096);
        buf.files = d.files;
        buf.namelen = 255;
        Ok(())
    }

    fn cached_objects(sb: &SuperBlock<Self>) -> usize {
        sb.data().image.source().0.recent_folios()
    }

    fn free_cached_objects(sb: &SuperBlock<Self>, nr: usize) -> usize {
        sb.data().image.source().0.forget_recent_folios(nr)
    }

    fn show_options(sb: &SuperBlock<Self>, seq: &SeqFile) -> Result {
        let d = sb.data();
        if let Some(b) = &d.basedir_opt {
            seq.show_option(c"basedir", Some(b));
        }
        if let Some(dg) = &d.digest {
            // Two hex digits per byte and a NUL.
            let mut hex = [0u8; 129];
            options::write_hex(dg.as_bytes(), &mut hex);
            let text = hex.get(..=2 * dg.len).ok_or(EINVAL)?;
            let s = CStr::from_bytes_with_nul(text).map_err(|_| EINVAL)?;
            seq.show_option(c"digest", Some(s));
        }
        let v = match d.verity {
            Verity::Off => c"off",
            Verity::On => c"on",
            Verity::Require => c"require",
        };
        seq.show_option(c"verity", Some(v));
        seq.show_option(if sb.posix_acl() { c"acl" } else { c"noacl" }, None);
        Ok(())
    }
}
