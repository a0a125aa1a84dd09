// Package diskquota bounds the disk space of sandboxes with the kernel: each sandbox's writable
// directories (working directory, /tmp, an image's overlay upper layer, scratch volumes) get a
// byte bound past which the sandbox's writes and file creations fail with EDQUOT, while its
// neighbours and the disk holding barge's own store are untouched.
//
// It owns an Area: one directory whose subdirectories each get a bound. How the kernel enforces
// it depends on the filesystem under the area:
//
//   - ext4 or xfs mounted with project quotas: each bounded directory gets a project id of its
//     own with the inherit flag (FS_IOC_FSSETXATTR), so everything created below it joins the
//     project, and the project gets a hard block and inode limit (quotactl_fd, or quotactl on
//     the block device before Linux 5.14). Ids come from an in-memory pool from 1000 up that
//     skips ids already holding usage or limits.
//   - btrfs with quotas on: each bounded directory is a subvolume whose quota group sits in a
//     level-1 quota group carrying the limit. With simple quotas (Linux 6.7+) subvolumes a job
//     creates inside its own join that group too; with full accounting they escape.
//   - anything else: the area gets a filesystem of its own, a sparse image file beside the
//     directory, loop-mounted on it (LOOP_CONFIGURE with autoclear, so the loop device goes
//     with the mount): ext4 with project quotas where the kernel can enforce them (it needs
//     CONFIG_QUOTA and CONFIG_QFMT_V2), else btrfs with simple quotas. Renames and hard links
//     into a bounded directory fail with EXDEV on both.
//
// mkfs.ext4 (e2fsprogs) or mkfs.btrfs (btrfs-progs) formats a new image; everything else is
// system calls. All of it needs root (CAP_SYS_ADMIN).
//
// What the kernel does not enforce, the sandbox must:
//
//   - Processes with CAP_SYS_RESOURCE in the initial user namespace pass ext4's hard limits
//     (the generic quota code exempts them); btrfs and xfs bound them too.
//   - The ioctls Area.EscapeIoctls lists move writes out of a bound without privilege: a
//     btrfs subvolume created with an explicit quota-group inheritance, or a directory's owner
//     changing its project id from the initial user namespace. A sandbox's seccomp filter must
//     refuse them.
//
// Bounded directories are reused (reuse.go): making one and deleting it cost more than the
// trivial job that used it, and leave the kernel background work. Release empties a directory
// (each entry resolved in its open parent, no symlink followed, nothing done while anything is
// mounted on or below it) and keeps it, with its bound, for a later Dir, up to 256 of them,
// when nothing of its use can show: its owner and mode are reset to a new directory's, and its
// size, inode flags, fsxattr fields and extended attributes (ACLs, btrfs properties) must
// already match a new one's; no other bound may lie below it; on btrfs the subvolume must be
// writable and not marked received. Otherwise it is deleted as before. Dir hands a kept one
// out, renamed, its times set to now and its limit set, only once its bound charges no more
// than a new directory's: project quotas uncharge at once, unless a file is still held open;
// btrfs accounts space freed, and gives back the metadata reserved for a transaction, when
// that transaction commits, which Dir then asks for. What stays is identity: the inode, the
// subvolume id, the birth time, and on btrfs the inode numbers the next files get, which
// continue from those made before. So nothing may still hold anything under a directory
// being released open, its cwd included: it could reach the next user.
//
// An image is sparse: it reserves nothing on the host, so its size must fit the host's free
// space, or the host filling up first makes the image's writes fail with I/O errors. Freed
// blocks are handed back to the host (discard). Open the same directory once per process;
// Sweep must not run concurrently with anything else.
package diskquota
