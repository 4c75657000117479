// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for the static inline functions and macros the Rust
 * side of composefs calls. Like the kernel's rust/helpers/: no logic here.
 * The prototypes live in src/vfs/helpers.rs.
 */
#include <linux/backing-file.h>
#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/filelock.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/capability.h>
#include <linux/user_namespace.h>
#include <linux/namei.h>
#include <linux/mount.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

void *cfs_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache);
bool cfs_inode_is_new(struct inode *inode);
void cfs_i_size_write(struct inode *inode, loff_t size);
loff_t cfs_i_size_read(const struct inode *inode);
void cfs_i_uid_write(struct inode *inode, uid_t uid);
void cfs_i_gid_write(struct inode *inode, gid_t gid);
void cfs_inode_set_mtime(struct inode *inode, time64_t sec, long nsec);
void cfs_inode_set_atime(struct inode *inode, time64_t sec, long nsec);
bool cfs_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		  u64 ino, unsigned int type);
void *cfs_kmap_local_folio(struct folio *folio, size_t offset);
void cfs_kunmap_local(const void *addr);
void cfs_folio_put(struct folio *folio);
void cfs_folio_get(struct folio *folio);
struct address_space *cfs_folio_mapping(const struct folio *folio);
size_t cfs_folio_size(struct folio *folio);
int cfs_folio_nid(const struct folio *folio);
struct mem_cgroup *cfs_folio_memcg(struct folio *folio);
bool cfs_mem_cgroup_is_root(struct mem_cgroup *memcg);
loff_t cfs_folio_pos(struct folio *folio);
struct inode *cfs_file_inode(const struct file *file);
struct inode *cfs_d_inode(const struct dentry *dentry);
int cfs_deny_write_access(struct file *file);
void cfs_allow_write_access(struct file *file);
void cfs_seq_show_option(struct seq_file *m, const char *name, const char *value);
bool cfs_ratelimit(void);
void cfs_init_sync_kiocb(struct kiocb *kiocb, struct file *filp);
int cfs_iocb_nowait(void);
size_t cfs_iov_iter_count(const struct iov_iter *i);
const struct cred *cfs_get_current_cred(void);
const struct cred *cfs_override_creds(const struct cred *cred);
const struct cred *cfs_revert_creds(const struct cred *cred);
int cfs_iocb_flags(struct file *file);
struct mnt_idmap *cfs_mnt_idmap(const struct vfsmount *mnt);
bool cfs_sb_has_encoding(const struct super_block *sb);
void cfs_cache_no_acl(struct inode *inode);
const unsigned char *cfs_dentry_name(const struct dentry *dentry, u32 *len);
struct inode *cfs_folio_host(struct folio *folio);
struct folio *cfs_shmem_read_folio(struct address_space *mapping, pgoff_t index);
void *cfs_folio_address(const struct folio *folio);
bool cfs_shmem_mapping(const struct address_space *mapping);
struct folio *cfs_filemap_get_folio_accessed(struct address_space *mapping,
					     pgoff_t index);
bool cfs_folio_test_uptodate(const struct folio *folio);
unsigned int cfs_file_ra_pages(const struct file *file);
void cfs_file_sync_readahead(struct file *file, pgoff_t index,
			     unsigned long req_count);
void cfs_inode_set_fop(struct inode *inode, const struct file_operations *fop);
struct posix_acl *cfs_posix_acl_from_xattr(const void *value, size_t size);
int cfs_generic_setlease(struct file *file, int arg, struct file_lease **lease,
			 void **priv);

/* Values the Rust side mirrors as constants. */
static_assert(SB_RDONLY == 1 << 0);
static_assert(SB_NOATIME == 1 << 10);
static_assert(SB_POSIXACL == 1 << 16);
static_assert(ACL_TYPE_DEFAULT == 0x4000);
static_assert(FILESYSTEM_MAX_STACK_DEPTH == 2);
static_assert(LOOKUP_FOLLOW == 1 << 0);
static_assert(LOOKUP_DIRECTORY == 1 << 1);
static_assert(BLK_OPEN_READ == (__force blk_mode_t)(1 << 0));
static_assert(BLK_OPEN_RESTRICT_WRITES == (__force blk_mode_t)(1 << 5));
static_assert(FMODE_CAN_ODIRECT == (__force fmode_t)(1 << 22));
static_assert(LOOKUP_NO_SYMLINKS == 1 << 24);
static_assert(LOOKUP_NO_XDEV == 1 << 26);
static_assert(LOOKUP_BENEATH == 1 << 27);

void *cfs_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache)
{
	return alloc_inode_sb(sb, cache, GFP_KERNEL);
}

bool cfs_inode_is_new(struct inode *inode)
{
	return inode_state_read_once(inode) & I_NEW;
}

void cfs_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

loff_t cfs_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void cfs_i_uid_write(struct inode *inode, uid_t uid)
{
	i_uid_write(inode, uid);
}

void cfs_i_gid_write(struct inode *inode, gid_t gid)
{
	i_gid_write(inode, gid);
}

void cfs_inode_set_mtime(struct inode *inode, time64_t sec, long nsec)
{
	inode_set_mtime(inode, sec, nsec);
}

void cfs_inode_set_atime(struct inode *inode, time64_t sec, long nsec)
{
	inode_set_atime(inode, sec, nsec);
}

bool cfs_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		  u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}

struct folio *cfs_shmem_read_folio(struct address_space *mapping, pgoff_t index)
{
	return shmem_read_folio(mapping, index);
}

/* Inline without CONFIG_SHMEM. */
bool cfs_shmem_mapping(const struct address_space *mapping)
{
	return shmem_mapping(mapping);
}

struct folio *cfs_filemap_get_folio_accessed(struct address_space *mapping,
					     pgoff_t index)
{
	return __filemap_get_folio(mapping, index, FGP_ACCESSED, 0);
}

bool cfs_folio_test_uptodate(const struct folio *folio)
{
	return folio_test_uptodate(folio);
}

/* f_ra shares a union in struct file: no stable name on the Rust side. */
unsigned int cfs_file_ra_pages(const struct file *file)
{
	return file->f_ra.ra_pages;
}

void cfs_file_sync_readahead(struct file *file, pgoff_t index,
			     unsigned long req_count)
{
	page_cache_sync_readahead(file->f_mapping, &file->f_ra, file, index,
				  req_count);
}

void *cfs_kmap_local_folio(struct folio *folio, size_t offset)
{
	return kmap_local_folio(folio, offset);
}

void cfs_kunmap_local(const void *addr)
{
	kunmap_local(addr);
}

void *cfs_folio_address(const struct folio *folio)
{
	return folio_address(folio);
}

void cfs_folio_put(struct folio *folio)
{
	folio_put(folio);
}

void cfs_folio_get(struct folio *folio)
{
	folio_get(folio);
}

/* Read without the folio lock: NULL once the folio is removed from its file. */
struct address_space *cfs_folio_mapping(const struct folio *folio)
{
	return READ_ONCE(folio->mapping);
}

size_t cfs_folio_size(struct folio *folio)
{
	return folio_size(folio);
}

int cfs_folio_nid(const struct folio *folio)
{
	return folio_nid(folio);
}

/* The caller holds the RCU read lock, as folio_memcg() requires. */
struct mem_cgroup *cfs_folio_memcg(struct folio *folio)
{
	return folio_memcg(folio);
}

bool cfs_mem_cgroup_is_root(struct mem_cgroup *memcg)
{
	return mem_cgroup_is_root(memcg);
}

loff_t cfs_folio_pos(struct folio *folio)
{
	return folio_pos(folio);
}

struct inode *cfs_file_inode(const struct file *file)
{
	return file_inode(file);
}

struct inode *cfs_d_inode(const struct dentry *dentry)
{
	return d_inode(dentry);
}

int cfs_deny_write_access(struct file *file)
{
	return deny_write_access(file);
}

void cfs_allow_write_access(struct file *file)
{
	allow_write_access(file);
}

void cfs_seq_show_option(struct seq_file *m, const char *name, const char *value)
{
	seq_show_option(m, name, value);
}

static DEFINE_RATELIMIT_STATE(cfs_ratelimit_state, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);

bool cfs_ratelimit(void)
{
	return __ratelimit(&cfs_ratelimit_state);
}

void cfs_init_sync_kiocb(struct kiocb *kiocb, struct file *filp)
{
	init_sync_kiocb(kiocb, filp);
}

int cfs_iocb_nowait(void)
{
	return IOCB_NOWAIT;
}

size_t cfs_iov_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}


const struct cred *cfs_get_current_cred(void)
{
	return get_current_cred();
}

const struct cred *cfs_override_creds(const struct cred *cred)
{
	return override_creds(cred);
}

const struct cred *cfs_revert_creds(const struct cred *cred)
{
	return revert_creds(cred);
}

int cfs_iocb_flags(struct file *file)
{
	return iocb_flags(file);
}

struct mnt_idmap *cfs_mnt_idmap(const struct vfsmount *mnt)
{
	return mnt_idmap(mnt);
}

bool cfs_sb_has_encoding(const struct super_block *sb)
{
	return sb_has_encoding(sb);
}

void cfs_cache_no_acl(struct inode *inode)
{
	cache_no_acl(inode);
}

const unsigned char *cfs_dentry_name(const struct dentry *dentry, u32 *len)
{
	*len = dentry->d_name.len;
	return dentry->d_name.name;
}

struct inode *cfs_folio_host(struct folio *folio)
{
	return folio->mapping->host;
}

void cfs_inode_set_fop(struct inode *inode, const struct file_operations *fop)
{
	inode->i_fop = fop;
}

/* Inline without CONFIG_FS_POSIX_ACL; ACLs are stored with initial ids. */
struct posix_acl *cfs_posix_acl_from_xattr(const void *value, size_t size)
{
	return posix_acl_from_xattr(&init_user_ns, value, size);
}

/* Inline (refusing leases) without CONFIG_FILE_LOCKING. */
int cfs_generic_setlease(struct file *file, int arg, struct file_lease **lease,
			 void **priv)
{
	return generic_setlease(file, arg, lease, priv);
}
