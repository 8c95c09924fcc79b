/* Scatter-gather helpers over struct iovec arrays, shared by the block
 * drivers (qcow2) and the virtio request devices (blk, scsi): slicing a byte
 * range out of an iovec and copying or zeroing part of one. Pure functions;
 * no allocation, no I/O. Like QEMU's util/iov.c, but only what is used. */
#ifndef VMM_BLOCK_IOV_H
#define VMM_BLOCK_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Writes into dst the pieces of src (cnt entries) that cover bytes
 * [skip, skip + len) of it, zero-length pieces left out; returns how many,
 * or -ENOBUFS when more than max are needed (dst then holds max entries
 * and is not to be used). Never fails with max >= cnt. Bytes past the end
 * of src are simply not covered: the caller compares lengths when it cares
 * (block_iov_size). dst and src must not overlap. */
int block_iov_slice(const struct iovec *src, int cnt, size_t skip, size_t len, struct iovec *dst, int max);

/* Copies up to len bytes of iov (cnt entries), from byte off on, into buf;
 * returns the count copied (less than len only when iov ends first). */
size_t block_iov_to_buf(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len);

/* Copies up to len bytes from buf into iov from byte off on; returns the
 * count copied (less than len only when iov ends first). */
size_t block_iov_from_buf(const struct iovec *iov, int cnt, size_t off, const void *buf, size_t len);

/* Sets up to len bytes of iov from byte off on to c; returns the count set. */
size_t block_iov_memset(const struct iovec *iov, int cnt, size_t off, int c, size_t len);

/* Drops the first n bytes of the iovec *iov (*cnt entries) in place, as
 * after a short read or write: the entries wholly consumed (and zero-length
 * ones among them) are stepped over, and the first one left is trimmed, so
 * the array's entries are modified. n past the end leaves *cnt at 0. */
void block_iov_advance(struct iovec **iov, int *cnt, size_t n);

/* The sum of the lengths of the cnt entries of iov. */
size_t block_iov_size(const struct iovec *iov, int cnt);

#endif
