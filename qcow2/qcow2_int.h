/* Private to qcow2/: the open image's state, the on-disk constants of QEMU
 * docs/interop/qcow2.txt ("Header", "Cluster mapping", "Refcount",
 * "Compressed Clusters Descriptor", "Extended L2 Entries", "Snapshots") and
 * the functions the driver's files share.
 *
 * Concurrency: every metadata operation runs synchronously under s->lock
 * (serialised per image); reads and overwrites of allocated clusters go to
 * the engine asynchronously; allocating writes, copy-on-write, compressed
 * clusters and backing-file reads are done synchronously inside the submit
 * call and completed through block_engine_complete(). Overwrites in flight
 * are listed (s->wio, under s->wio_lock, a leaf lock completions take
 * without s->lock) so that a deferred free of their cluster waits for them.
 * Reads in flight are counted per epoch (s->rd_cnt, atomic, no lock and no
 * allocation per read): a deferred free records the epoch it was listed in
 * and applies only once every read of that epoch or an earlier one completed. */
#ifndef VMM_QCOW2_QCOW2_INT_H
#define VMM_QCOW2_QCOW2_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "qcow2/qcow2.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)          /* as QEMU: QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)     /* QCOW_MAX_REFTABLE_SIZE */
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_DEPTH 64

#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN       0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS     (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW    (1ull << 1)

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_FEATURES     0x6803f857u
#define QCOW2_EXT_BITMAPS      0x23852875u
#define QCOW2_EXT_CRYPTO       0x0537be77u
#define QCOW2_EXT_DATA_FILE    0x44415441u

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       1ull
#define QCOW2_L1_OFFSET_MASK   0x00fffffffffffe00ull
#define QCOW2_L2_OFFSET_MASK   0x00fffffffffffe00ull
#define QCOW2_SUBCLUSTERS      32

enum qcow2_ctype { QCOW2_CTYPE_ZLIB = 0, QCOW2_CTYPE_ZSTD = 1 };

/* What one guest cluster maps to (qcow2_get_cluster). */
enum qcow2_ctype_kind {
	QCOW2_C_UNALLOCATED,   /* read from backing (or zeroes) */
	QCOW2_C_ZERO,          /* reads as zeroes; host may still be allocated */
	QCOW2_C_NORMAL,        /* host data at host */
	QCOW2_C_COMPRESSED,    /* compressed descriptor in l2 */
};

struct qcow2_cache_entry {
	uint64_t offset;       /* 0: empty */
	uint64_t lru;
	int dirty;
	uint8_t *data;
};

struct qcow2_cache {
	struct qcow2_cache_entry *e;
	unsigned n;
	unsigned size;         /* bytes per table (a cluster) */
	uint64_t tick;
};

struct qcow2_ext {             /* a header extension kept verbatim for rewrite */
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id, *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount;
	int has_icount;
	uint32_t extra_size;
	uint8_t *extra;        /* verbatim extra data (kept on rewrite) */
};

struct qcow2_wio;              /* an overwrite in flight (qcow2_cluster.c) */

/* Read epochs: a ring of counters of reads in flight. Epochs advance (under
 * s->lock) when frees are listed, into the next slot once the epoch that
 * last used it has drained; when none has, frees join the newest epoch. So
 * every epoch older than rd_epoch - QCOW2_READ_EPOCHS + 1 has drained. */
#define QCOW2_READ_EPOCHS 32

struct qcow2_deferred {
	uint64_t cluster;
	uint64_t epoch;        /* rd_epoch when listed: waits for its reads */
};

struct qcow2_state {
	pthread_mutex_t lock;
	pthread_mutex_t wio_lock;  /* guards wio only */
	struct qcow2_wio *wio;     /* overwrites submitted to the engine, not yet completed */
	int fd;                /* the image */
	int data_fd;           /* external data file, or fd */
	int direct_fd;         /* cache=none: data_fd's file with O_DIRECT, or -1 */
	unsigned dio_mem_align, dio_off_align;
	int read_only;
	int no_flush;

	/* header */
	uint32_t version;
	uint32_t cluster_bits;
	uint32_t cluster_size;
	uint64_t size;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t reftable_offset;
	uint32_t reftable_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_size;  /* bytes of the snapshot table */
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
	int extl2;
	unsigned l2_entry_bytes;  /* 8, or 16 with extended L2 */
	unsigned l2_entries;      /* per L2 table */
	unsigned subcluster_size;
	int csize_shift;
	uint64_t csize_mask, coffset_mask;

	char *backing_file;
	char *backing_fmt;
	char *data_file;
	struct qcow2_ext *exts;   /* unknown extensions, verbatim */
	int nexts;
	char (*feature_names)[3][47]; /* [type 0..2][bit] from the feature name table */

	uint64_t *l1;             /* cpu order */
	uint64_t *reftable;       /* cpu order */
	uint64_t reftable_entries;
	uint64_t reftable_used;   /* entries at or past this index are 0 (bounds overlap scans) */
	unsigned refblock_entries;
	uint64_t file_end;        /* bytes; grows with allocations */
	uint64_t zero_end;        /* [file_end, zero_end): file extended ahead, never written */
	uint64_t free_hint;       /* cluster index to search from */
	struct qcow2_deferred *deferred; /* host clusters whose refcount drops at next metadata flush */
	size_t ndeferred, deferred_cap;
	size_t deferred_kept;     /* left listed by the last apply (still in use) */
	uint64_t rd_epoch;        /* current read epoch (under lock) */
	unsigned rd_cnt[QCOW2_READ_EPOCHS]; /* reads in flight per epoch % QCOW2_READ_EPOCHS (atomic) */

	struct qcow2_snapshot *snaps;

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;
	int dirty_marked;         /* dirty bit written for lazy refcounts */

	/* compressed-cluster byte allocator */
	uint64_t comp_next;       /* next free byte in a partly used cluster, or 0 */

	struct block_engine *bk_engine; /* private engine for backing-file reads */
	uint8_t *bounce;          /* one cluster, for COW and compressed reads */
};

/* Whether a standard L2 entry has a host cluster: offset 0 is a valid data
 * file offset, told apart by COPIED (qcow2.txt "Standard Cluster Descriptor"). */
static inline int qcow2_has_host(const struct qcow2_state *s, uint64_t e)
{
	return (e & QCOW2_L2_OFFSET_MASK) || (s->data_fd != s->fd && (e & QCOW2_OFLAG_COPIED));
}

/* The fd for asynchronous data I/O: the O_DIRECT one when the request fits its alignment. */
static inline int qcow2_data_fd_for(const struct qcow2_state *s, uint64_t host, const struct iovec *iov, int n)
{
	if (s->direct_fd < 0 || host % s->dio_off_align)
		return s->data_fd;
	for (int i = 0; i < n; i++)
		if ((uintptr_t)iov[i].iov_base % s->dio_mem_align || iov[i].iov_len % s->dio_off_align)
			return s->data_fd;
	return s->direct_fd;
}

/* A read of host clusters going to the engine: counted in the current epoch
 * (call under s->lock); pass the result to qcow2_read_exit() once the read's
 * host I/O completed. */
static inline unsigned *qcow2_read_enter(struct qcow2_state *s)
{
	unsigned *c = &s->rd_cnt[s->rd_epoch % QCOW2_READ_EPOCHS];

	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
	return c;
}

static inline void qcow2_read_exit(unsigned *c)
{
	__atomic_sub_fetch(c, 1, __ATOMIC_RELEASE);
}

/* lazy_refcounts (qcow2.txt compatible feature bit 0) in effect: refcount
 * blocks are written only at flush and close, the dirty bit set meanwhile. */
static inline int qcow2_lazy(const struct qcow2_state *s)
{
	return (s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS) && s->version >= 3 && !s->read_only;
}

/* qcow2.c */
uint64_t qcow2_be64(const void *p);
uint32_t qcow2_be32(const void *p);
uint16_t qcow2_be16(const void *p);
void qcow2_put_be64(void *p, uint64_t v);
void qcow2_put_be32(void *p, uint32_t v);
void qcow2_put_be16(void *p, uint16_t v);
int qcow2_pread(int fd, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(int fd, const void *buf, size_t len, uint64_t off);
/* The whole iovec (consumed: v is modified) at off, short writes continued. */
int qcow2_sync(struct qcow2_state *s);
int qcow2_write_header(struct qcow2_state *s);
/* Whether [off, off+len) of the image hits the header, L1, refcount table or snapshot table. */
int qcow2_overlaps_fixed(struct qcow2_state *s, uint64_t off, uint64_t len);
/* Also the active L2 tables, refcount blocks and snapshot L1 tables (before in-place data writes). */
int qcow2_overlaps_metadata(struct qcow2_state *s, uint64_t off, uint64_t len);
int qcow2_write_l1_entry(struct qcow2_state *s, unsigned idx);
/* Sets the dirty bit on disk before the first metadata write that leaves the
 * refcounts behind (lazy refcounts only; no-op otherwise); clean close clears it. */
int qcow2_mark_dirty(struct qcow2_state *s);

/* qcow2_cache.c */
int qcow2_cache_init(struct qcow2_cache *c, unsigned n, unsigned size);
void qcow2_cache_free(struct qcow2_cache *c);
/* Returns the table at offset (read from the file unless fresh: then zeroed). */
int qcow2_cache_get(struct qcow2_state *s, struct qcow2_cache *c, uint64_t offset, int fresh,
		    uint8_t **out);
void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data);
int qcow2_cache_write_all(struct qcow2_state *s, struct qcow2_cache *c);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset);
void qcow2_cache_clear(struct qcow2_cache *c);
/* Metadata ordering: refcounts, sync, L2 tables, sync, deferred frees
 * (lazy refcounts: dirty bit, L2 tables and refcounts, sync, deferred frees). */
int qcow2_flush_all(struct qcow2_state *s);

/* qcow2_refcount.c */
int qcow2_get_refcount(struct qcow2_state *s, uint64_t cluster, uint64_t *rc);
int qcow2_update_refcount(struct qcow2_state *s, uint64_t cluster, int64_t delta);
/* Allocates n contiguous clusters (refcount 1); returns the host byte offset. */
int64_t qcow2_alloc_clusters(struct qcow2_state *s, uint64_t n);
/* Drops one reference to the clusters of [off, off+len) at the next metadata
 * flush; a cluster an overwrite in flight still targets, or a read submitted
 * before this call may still read, waits for a later one. */
int qcow2_free_deferred(struct qcow2_state *s, uint64_t off, uint64_t len);
int qcow2_apply_deferred(struct qcow2_state *s);
uint64_t qcow2_refcount_max(struct qcow2_state *s);
int qcow2_refcount_load(struct qcow2_state *s);
uint64_t qcow2_rb_get(struct qcow2_state *s, const uint8_t *rb, unsigned i);
void qcow2_rb_set(struct qcow2_state *s, uint8_t *rb, unsigned i, uint64_t v);

/* qcow2_cluster.c */
extern const struct block_driver block_driver_qcow2;
int qcow2_rw_preadv(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		    block_done_fn done, void *opaque);
int qcow2_rw_pwritev(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		     block_done_fn done, void *opaque);
int qcow2_rw_discard(struct block_dev *bs, uint64_t off, uint64_t len, block_done_fn done, void *opaque);
int qcow2_rw_write_zeroes(struct block_dev *bs, uint64_t off, uint64_t len, int unmap,
			  block_done_fn done, void *opaque);
int qcow2_rw_block_status(struct block_dev *bs, uint64_t off, uint64_t len,
			  uint64_t *pnum, uint64_t *host_off, int *flags);
int qcow2_rw_truncate(struct block_dev *bs, uint64_t new_size);
int qcow2_validate_l2_entry(struct qcow2_state *s, uint64_t e);
/* Guest bytes [off, off+len) into buf, synchronously (COW, compression, snapshots). */
int qcow2_read_sync(struct block_dev *bs, uint64_t off, void *buf, size_t len);
/* Makes the L2 table of guest cluster vc writable (allocated, COPIED); returns its offset. */
int64_t qcow2_l2_for_write(struct qcow2_state *s, uint64_t vc);
/* Sets the L2 entry (and extended bitmap) of vc, freeing what the old entry referenced. */
int qcow2_set_l2_entry(struct qcow2_state *s, uint64_t vc, uint64_t e, uint64_t bm);
int qcow2_get_l2_entry(struct qcow2_state *s, uint64_t vc, uint64_t *e, uint64_t *bm);
/* Drops the reference an L2 entry holds (deferred). */
int qcow2_release_entry(struct qcow2_state *s, uint64_t e);
/* Whether an overwrite still in flight targets host bytes [off, off+len) of
 * the image: its cluster must not be freed (and reused) yet. */
int qcow2_wio_busy(struct qcow2_state *s, uint64_t off, uint64_t len);
/* At close: forgets the overwrites still listed (callers drain first; a
 * late completion then touches only its own record). */
void qcow2_wio_detach(struct qcow2_state *s);
void qcow2_compressed_range(struct qcow2_state *s, uint64_t e, uint64_t *off, uint64_t *len);

/* qcow2_compress.c */
int qcow2_decompress(struct qcow2_state *s, uint64_t l2e, uint8_t *out);

/* qcow2_snapshot.c */
int qcow2_snapshots_load(struct qcow2_state *s);
void qcow2_snapshots_free(struct qcow2_state *s);

#endif
