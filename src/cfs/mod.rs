// SPDX-License-Identifier: GPL-2.0

//! The composefs filesystem: superblock, mount and the per-object
//! operations, on top of the format reader and the VFS layer.

mod backing;
mod dir;
mod image;
mod inode;
mod msg;
mod once;
mod options;
mod xattr;

use crate::format::{layout, reader::Image};
use crate::vfs::{
    cred,
    folio::ShrinkScope,
    fs_context::{FsContext, FsParam},
    fs_type::FileSystem,
    inode::{INode, MAY_APPEND, MAY_EXEC, MAY_READ, MAY_WRITE},
    path::{Path, PrivateMount, PrivateMounts},
    sb::{NewSuperBlock, SeqFile, StatFs, SuperBlock, SuperParams, MAX_STACK_DEPTH},
    source::{SourceError, SourceFile},
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
    /// The object directories, searched in order: private clones of the
    /// mounts they were given on, rooted at them (as overlayfs clones its
    /// layers), so that they pin no user mount and see no mount made on or
    /// beneath them later.
    basedirs: PrivateMounts,
    /// The `basedir=` option as given (for `show_options`).
    basedir_opt: Option<CString>,
    /// The mounter's credentials: backing objects are opened with them.
    cred: ARef<Credential>,
    /// fs-verity policy for backing objects.
    verity: Verity,
    /// Whether the image's POSIX ACLs are enforced (`acl`), or the image is
    /// presented as EROFS mounted `noacl` shows it through overlayfs: no
    /// ACLs, and `ENODATA` for the ACL xattr names.
    acl: bool,
    /// The `digest=` the image was checked against.
    digest: Option<Digest>,
    /// Which inode slots the tree reaches from the root, one bit per nid:
    /// made by the first file-handle decode, which accepts only those.
    reachable: once::OnceBox<KVVec<u64>>,
    /// Whether the root directory was once read whole without error (see
    /// `iterate`): the image does not change while mounted, so later
    /// listings need not read it twice.
    root_listing_checked: core::sync::atomic::AtomicBool,
    /// Whether the mounter had `CAP_DAC_OVERRIDE` (in the initial user
    /// namespace): then its access checks ([`Composefs::permission`]) pass
    /// on every inode whose owner and group are valid ids.
    mounter_dac_override: bool,
}

/// Per-inode state: the decoded image inode.
pub(crate) struct CfsInode {
    /// The inode as decoded (and validated) from the image.
    raw: crate::format::Inode,
    /// The error a lookup of this inode fails with, as overlayfs fails it
    /// (an external file whose overlay xattrs cannot lead to data).
    lookup_err: Option<Error>,
    /// Whether overlayfs's lookup takes the inode for a whiteout (a negative
    /// entry): a character device 0/0, or an empty regular file with
    /// `trusted.overlay.whiteout` (`ovl_path_is_whiteout`).
    whiteout: bool,
    /// Of a directory: how overlayfs lists it.
    listing: Listing,
    /// How an external file finds and checks its backing object, worked
    /// out when the inode is read so that opens need not search for its
    /// overlay xattrs again; `None` for other inodes.
    overlay: Option<Backing>,
    /// Of an external file: its backing object once an open found it.
    object: backing::FoundObject,
    /// Of a directory: where its last successful lookup found its entry
    /// (block << 32 | index in the block; `u64::MAX`: none yet), where the
    /// next one starts looking once the directory is known to be
    /// well-formed ([`CfsInode::lookup_state`]). Lookups in readdir order,
    /// as `ls -l` or `find` make them, then mostly compare one name in one
    /// block instead of a binary search's several blocks and names.
    lookup_hint: AtomicU64,
    /// Of a directory: whether [`CfsInode::lookup_hint`] may be used. Below
    /// [`dir::HINTS_SORTED`], the number of lookups made without it; once
    /// that reaches the directory's block count (so that checking every
    /// block costs no more than the lookups made), the directory is checked
    /// and the state becomes [`dir::HINTS_SORTED`] or, if its names are out
    /// of order (a corrupt image), [`dir::HINTS_OFF`] for good: there only
    /// the plain binary search is used, whose answers do not depend on
    /// earlier lookups.
    lookup_state: AtomicU64,
}

/// How overlayfs lists a directory of its single lower layer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Read through the real (EROFS) directory: every entry as stored.
    Real,
    /// Merged (`OVL_WHITEOUTS`: the root, or a directory with
    /// `trusted.overlay.origin`): read whole before any of it is listed,
    /// whiteouts dropped.
    Merged,
    /// Merged, and marked `trusted.overlay.opaque=x`: empty regular files
    /// that look up as whiteouts are dropped too.
    MergedXwhiteouts,
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

/// The header's `composefs_version` of composefs-rs's legacy V2 images.
const COMPOSEFS_RS_V2: u32 = 2;

/// Shorthand for an inode of this filesystem.
type CInode = INode<Composefs>;

impl CfsSuper {
    /// Whether the mounter's `CAP_DAC_OVERRIDE` covers every access to an
    /// inode with `raw`'s owner and group (valid ids), but execute of a
    /// non-directory without an execute bit ([`Composefs::permission`]).
    fn mounter_overrides_dac(&self, raw: &crate::format::Inode) -> bool {
        self.mounter_dac_override && raw.uid() != u32::MAX && raw.gid() != u32::MAX
    }

    /// Whether [`Composefs::permission`] may refuse access to an inode
    /// `raw`: of a directory, only if the mounter's capability does not
    /// cover it.
    pub(crate) fn mounter_may_refuse(&self, raw: &crate::format::Inode) -> bool {
        raw.file_type() != layout::S_IFDIR || !self.mounter_overrides_dac(raw)
    }
}

impl Composefs {
    /// The superblock data of `inode`.
    fn sbi(inode: &CInode) -> &CfsSuper {
        inode.super_block().data()
    }
}

/// Resolves the `basedir=` list to private clones of the directories
/// mounts, rooted at the directories (`clone_private_mount`, as overlayfs
/// sets up its layers in `ovl_get_layers`, fs/overlayfs/super.c).
fn resolve_basedirs(fc: &FsContext, list: Option<&CString>) -> Result<KVec<PrivateMount>> {
    let mut dirs = KVec::new();
    let Some(list) = list else { return Ok(dirs) };
    for d in list.to_bytes().split(|&c| c == b':') {
        let mut buf = KVec::with_capacity(d.len() + 1, GFP_KERNEL)?;
        buf.extend_from_slice(d, GFP_KERNEL)?;
        buf.push(0, GFP_KERNEL)?;
        let name = CStr::from_bytes_with_nul(&buf).map_err(|_| EINVAL)?;
        let path = Path::lookup_dir(name).inspect_err(|_| {
            fc.error_arg(c"cannot resolve basedir", name);
        })?;
        let clone = path.clone_private().inspect_err(|_| {
            fc.error_arg(c"cannot clone the mount of basedir", name);
        })?;
        dirs.push(clone, GFP_KERNEL)?;
    }
    Ok(dirs)
}

/// The `basedir=` value that lists the `basedir+` directories by `names`
/// (path names, which hold no NUL).
fn basedir_of_names(names: &[u8]) -> Result<CString> {
    let mut v = KVec::with_capacity(names.len() + 1, GFP_KERNEL)?;
    v.extend_from_slice(names, GFP_KERNEL)?;
    v.push(0, GFP_KERNEL)?;
    let s = CStr::from_bytes_with_nul(&v).map_err(|_| EINVAL)?;
    Ok(CString::try_from(s)?)
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
        // A mount without `ro` is made read-only, as EROFS makes every
        // mount (erofs_fc_fill_super) and overlayfs one without an upper
        // layer (ovl_fill_super): the superblock is always `SB_RDONLY`.
        if opts.digest.is_some() && opts.verity == Some(Verity::Off) {
            fc.error(c"digest= needs fs-verity: it cannot be combined with verity=off");
            return Err(EINVAL);
        }
        let Some(source) = fc.source() else {
            fc.error(c"no image given (source)");
            return Err(EINVAL);
        };
        // A source given as a file descriptor is opened from its path (the
        // name set as the source is only for show).
        let opened = match opts.source_file.take() {
            Some(p) => SourceFile::open_path(&p, &crate::vfs::current_cred()),
            None => SourceFile::open(source),
        };
        let src = match opened {
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
                let m = e.message();
                msg::err(sb.id(), fmt!("{source}: invalid image: {m}"));
                fc.error(c"invalid image (see the kernel log)");
                return Err(if e.is_corruption() {
                    EINVAL
                } else {
                    image::error(sb.id(), e, "open", 0)
                });
            }
        };
        let basedirs = PrivateMounts::new(if opts.basedir_add.is_empty() {
            resolve_basedirs(fc, opts.basedir.as_ref())?
        } else {
            // `basedir+` directories were resolved as they were given; they
            // are listed in `/proc/mounts` as `basedir=` with their names.
            let mut dirs = KVec::with_capacity(opts.basedir_add.len(), GFP_KERNEL)?;
            for p in &opts.basedir_add {
                dirs.push(
                    p.clone_private().inspect_err(|_| {
                        fc.error(c"cannot clone the mount of a basedir+ directory");
                    })?,
                    GFP_KERNEL,
                )?;
            }
            opts.basedir = Some(basedir_of_names(&opts.basedir_add_names)?);
            dirs
        });
        // Backing files are opened through the basedirs' filesystems: stack
        // on top of the deepest, within the kernel's limit (as overlayfs).
        let stack_depth = basedirs.iter().map(|p| p.stack_depth()).max().unwrap_or(0) + 1;
        if stack_depth > MAX_STACK_DEPTH {
            fc.error(c"basedir filesystems are stacked too deep");
            return Err(EINVAL);
        }
        let header = image.header();
        // ACLs are enforced by default when the header says the image has
        // some, as mount.composefs mounts EROFS, and for composefs-rs's
        // legacy V2 layout, which never sets the flag and which composefs-rs
        // mounts with ACLs enforced (it never passes `noacl`).
        let has_acl = header.flags & layout::COMPOSEFS_FLAGS_HAS_ACL != 0
            || header.composefs_version == COMPOSEFS_RS_V2;
        let acl = opts.acl.unwrap_or(has_acl);
        sb.init(&SuperParams {
            magic: u64::from(layout::COMPOSEFS_MAGIC),
            blocksize_bits: 12,
            maxbytes: i64::MAX,
            time_gran: 1,
            // Always, as overlayfs (`ovl_fill_super`): ACL xattr names go to
            // `get_inode_acl`, which finds none when `acl` is off, so they
            // read `ENODATA` as through overlayfs over EROFS `noacl`, not
            // `EOPNOTSUPP`.
            posix_acl: cfg!(CONFIG_FS_POSIX_ACL),
            stack_depth,
        });
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
                acl,
                digest: opts.digest,
                reachable: once::OnceBox::new(),
                root_listing_checked: core::sync::atomic::AtomicBool::new(false),
                // The mounter is the current task.
                mounter_dac_override: crate::vfs::helpers::capable_dac_override(),
            },
            GFP_KERNEL,
        )?)
    }

    fn root(sb: &SuperBlock<Self>) -> Result<ARef<CInode>> {
        let root = sb.data().image.root_nid();
        inode::iget(sb, root)
    }

    /// A remount keeps every option: options equal to the mount's own are
    /// accepted, so that what `/proc/mounts` lists can be sent back (as
    /// mount(8) and systemd-shutdown do on `mount -o remount,...`); a
    /// change is refused, naming the option, through `mount(2)` and
    /// `fsconfig` alike.
    fn reconfigure(fc: &mut FsContext, opts: &mut Options, sb: &SuperBlock<Self>) -> Result {
        if fc.wants_rw() {
            // As overlayfs without an upper layer (ovl_reconfigure,
            // fs/overlayfs/params.c): a read-write remount is EROFS.
            fc.error(c"read-only filesystem, rw is not supported");
            return Err(EROFS);
        }
        let d = sb.data();
        if !opts.basedir_add.is_empty() {
            // `basedir+` on a remount: the same directories, by name.
            opts.basedir = Some(basedir_of_names(&opts.basedir_add_names)?);
        }
        let changed = if opts
            .basedir
            .as_ref()
            .is_some_and(|b| d.basedir_opt.as_ref().map(|c| c.to_bytes()) != Some(b.to_bytes()))
        {
            Some(c"basedir")
        } else if opts.digest.as_ref().is_some_and(|g| {
            d.digest
                .as_ref()
                .is_none_or(|c| c.algo != g.algo || c.as_bytes() != g.as_bytes())
        }) {
            Some(c"digest")
        } else if opts.verity.is_some_and(|v| v != d.verity) {
            Some(c"verity")
        } else if opts.acl.is_some_and(|a| a != d.acl) {
            Some(c"acl")
        } else {
            None
        };
        if let Some(name) = changed {
            fc.error_arg(c"a remount cannot change an option", name);
            return Err(EINVAL);
        }
        fc.set_sb_flags(crate::vfs::sb::SB_RDONLY);
        Ok(())
    }

    /// As EROFS answers `statfs` (`erofs_statfs`, fs/erofs/super.c), which
    /// overlayfs passes on for a stack without an upper layer
    /// (`ovl_statfs`): the image's block count from its superblock, no free
    /// blocks, `f_files` the largest count and `f_ffree` that less the
    /// superblock's inode count.
    fn statfs(sb: &SuperBlock<Self>, buf: &mut StatFs) -> Result {
        let d = sb.data();
        buf.magic = u64::from(layout::COMPOSEFS_MAGIC);
        buf.bsize = 4096;
        buf.blocks = u64::from(d.image.superblock().blocks);
        buf.files = u64::MAX;
        buf.ffree = u64::MAX - d.image.superblock().inos;
        buf.namelen = 255;
        Ok(())
    }

    /// The mounter's access too, as overlayfs checks it on the lower inode
    /// of the reference stack (`ovl_permission`, fs/overlayfs/inode.c):
    /// that inode (EROFS's) has this inode's mode, owner, group and ACLs,
    /// and overlayfs checks it with the mounter's credentials and no
    /// idmapping, a write to anything but a special file as a read (the
    /// mounter must be able to copy it up). So a mounter without
    /// `CAP_DAC_OVERRIDE` (dropped, or an unprivileged owner of the mount)
    /// cannot pass a caller through a directory or into a file it could
    /// not reach itself. A mounter with it passes such a check (it
    /// overrides read, write and search, and execute wherever the mode has
    /// an execute bit), unless the inode's owner or group is the invalid
    /// id, which no capability covers, or execute is asked of a
    /// non-directory whose mode has no execute bit (an image's ACL may
    /// grant the caller what its mode does not: the capability does not
    /// cover that).
    fn permission(inode: &CInode, mask: c_int) -> Result {
        let sbi = Self::sbi(inode);
        let raw = &inode.data().raw;
        let mode = raw.mode();
        let exec_without_x_bit =
            mask & MAY_EXEC != 0 && mode & layout::S_IFMT != layout::S_IFDIR && mode & 0o111 == 0;
        if sbi.mounter_overrides_dac(raw) && !exec_without_x_bit {
            return Ok(());
        }
        let special = matches!(
            mode & layout::S_IFMT,
            layout::S_IFCHR | layout::S_IFBLK | layout::S_IFIFO | layout::S_IFSOCK
        );
        let mask = if mask & MAY_WRITE != 0 && !special {
            (mask & !(MAY_WRITE | MAY_APPEND)) | MAY_READ
        } else {
            mask
        };
        cred::with_creds(&sbi.cred, || inode.generic_permission(mask))
    }

    fn cached_objects(sb: &SuperBlock<Self>, scope: &ShrinkScope<'_>) -> usize {
        sb.data().image.source().0.recent_folios(scope)
    }

    fn free_cached_objects(sb: &SuperBlock<Self>, nr: usize, scope: &ShrinkScope<'_>) -> usize {
        sb.data().image.source().0.forget_recent_folios(nr, scope)
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
        seq.show_option(if d.acl { c"acl" } else { c"noacl" }, None);
        Ok(())
    }
}
