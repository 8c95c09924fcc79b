/* The QCOW2 format driver's public interface: the block driver itself, image
 * creation, info, check/repair, internal snapshots, compressed writes and
 * backing-file changes for the tools (qcow2/tools/). Follows QEMU
 * docs/interop/qcow2.txt (header v2/v3, L1/L2, refcounts, snapshot table).
 *
 * Error codes: the driver's own negative codes lie in -4096..-4150 (never an
 * errno, never a BLOCK_E_*); qcow2_strerror() gives one lower-case line for
 * each. Open failures name their cause in the fixed texts. */
#ifndef VMM_QCOW2_QCOW2_H
#define VMM_QCOW2_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#include "block/block.h"

extern const struct block_driver block_driver_qcow2;

enum {
	QCOW2_E_BAD_MAGIC = -4096,        /* not a qcow2 image */
	QCOW2_E_VERSION = -4097,          /* version not 2 or 3 */
	QCOW2_E_CLUSTER_BITS = -4098,     /* cluster_bits outside 9..21 */
	QCOW2_E_HEADER = -4099,           /* header_length/size/field invalid */
	QCOW2_E_L1_SIZE = -4100,          /* l1_size too big or too small for the disk */
	QCOW2_E_L1_OFFSET = -4101,        /* L1 table misaligned, outside the file or over the header */
	QCOW2_E_REFCOUNT_ORDER = -4102,   /* refcount_order > 6 */
	QCOW2_E_REFTABLE = -4103,         /* refcount table misaligned/outside/over the header */
	QCOW2_E_INCOMPAT = -4104,         /* unknown incompatible feature bits */
	QCOW2_E_CORRUPT = -4105,          /* corrupt bit set: open read-only */
	QCOW2_E_L1_ENTRY = -4106,         /* L1 entry misaligned or beyond the end of the file */
	QCOW2_E_L2_ENTRY = -4107,         /* L2 entry misaligned or beyond the end of the file */
	QCOW2_E_COMPRESSED = -4108,       /* compressed cluster descriptor or data invalid */
	QCOW2_E_EXTENSION = -4109,        /* header extension truncated or malformed */
	QCOW2_E_BACKING = -4110,          /* backing file name invalid, loop or chain too deep */
	QCOW2_E_DATA_FILE = -4111,        /* external data file missing or unusable */
	QCOW2_E_COMPRESSION_TYPE = -4112, /* unknown compression type */
	QCOW2_E_REFCOUNT = -4113,         /* refcount block entry invalid / overflow */
	QCOW2_E_SNAPSHOT = -4114,         /* snapshot table invalid */
	QCOW2_E_NO_SNAPSHOT = -4115,      /* no snapshot by that name or id */
	QCOW2_E_SNAPSHOT_EXISTS = -4116,  /* a snapshot by that name exists */
	QCOW2_E_DIRTY = -4117,            /* dirty image opened read-only: needs repair */
	QCOW2_E_OVERLAP = -4118,          /* allocation would overwrite metadata */
	QCOW2_E_UNSUPPORTED = -4119,      /* valid image feature this driver does not implement */
};
/* NULL for codes it does not own. */
const char *qcow2_strerror(int err);

struct qcow2_create_opts {
	uint64_t size;                 /* virtual size, bytes */
	int version;                   /* 2 or 3 (compat=0.10 / 1.1); 0 = 3 */
	unsigned cluster_size;         /* 512..2M power of two; 0 = 65536 */
	unsigned refcount_bits;        /* 1..64 power of two; 0 = 16 */
	const char *backing_file;      /* NULL: none */
	const char *backing_fmt;       /* NULL: none written */
	int lazy_refcounts;
	const char *compression_type;  /* NULL/"zlib" or "zstd" */
	int extended_l2;
	const char *data_file;         /* external data file, NULL: none */
	int data_file_raw;
	const char *preallocation;     /* NULL/"off", "metadata", "falloc", "full" */
};
int qcow2_create(const char *path, const struct qcow2_create_opts *o);

/* For `info` (qemu-img info field names in comments). bs must be a qcow2 block_dev.
 * The strings point into bs and live as long as it. */
struct qcow2_info {
	int version;                   /* compat "0.10" (2) or "1.1" (3) */
	unsigned cluster_size;         /* cluster-size */
	unsigned refcount_bits;        /* refcount-bits */
	int lazy_refcounts, corrupt, extended_l2, dirty;
	const char *compression_type;  /* "zlib" / "zstd" */
	const char *data_file;         /* data-file or NULL */
	const char *backing_file;      /* or NULL */
	const char *backing_fmt;       /* or NULL */
	uint64_t virtual_size, actual_size_hint;
};
int qcow2_get_info(struct block_dev *bs, struct qcow2_info *out);

/* qemu-img check semantics. fix: 0, QCOW2_FIX_LEAKS, QCOW2_FIX_LEAKS|QCOW2_FIX_ERRORS. */
#define QCOW2_FIX_LEAKS  1
#define QCOW2_FIX_ERRORS 2
struct qcow2_check_result {
	int corruptions, leaks, check_errors;
	int corruptions_fixed, leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters, allocated_clusters, fragmented_clusters, compressed_clusters;
};
/* Opens nothing: bs opened read-only for check, read-write for repair. */
int qcow2_check(struct block_dev *bs, int fix, struct qcow2_check_result *r);

/* Internal snapshots (qcow2.txt "Snapshot table"). */
struct qcow2_snapshot_info {
	char id[32];
	char name[256];
	uint64_t vm_state_size;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t disk_size;
	uint32_t icount_valid; uint64_t icount;
};
int qcow2_snapshot_list(struct block_dev *bs, struct qcow2_snapshot_info **out, int *count); /* free(*out) */
int qcow2_snapshot_create(struct block_dev *bs, const char *name);
int qcow2_snapshot_apply(struct block_dev *bs, const char *name_or_id);
int qcow2_snapshot_delete(struct block_dev *bs, const char *name_or_id);

/* Writes one whole cluster compressed (for convert -c). off cluster aligned, len = cluster size
 * (or the tail of the disk). */
int qcow2_write_compressed(struct block_dev *bs, uint64_t off, const void *buf, size_t len);
unsigned qcow2_cluster_size(struct block_dev *bs);

/* Rewrites the backing file name/format in the header (rebase -u, commit). */
int qcow2_change_backing_file(struct block_dev *bs, const char *file, const char *fmt);

/* Marks the image clean / forces metadata to disk (used by tools before exit). */
int qcow2_flush_metadata(struct block_dev *bs);

#endif
