/* QCOW2 driver core: probe, open (header validation, feature bits, header
 * extensions kept for rewrite, backing chain, external data file), close,
 * flush, header rewrite, info, backing-file change and error texts.
 * Follows QEMU docs/interop/qcow2.txt sections "Header", "Header extensions",
 * "Feature name table", "External data file name". See qcow2_int.h for how
 * the work is split between synchronous metadata and asynchronous data I/O. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The detail of the last QCOW2_E_INCOMPAT of this thread (feature names),
 * so the error text can name them after the failed open freed the image. */
static __thread char incompat_detail[200];
static __thread int backing_depth;

uint64_t qcow2_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

uint32_t qcow2_be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint16_t qcow2_be16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] << 8 | b[1]);
}

void qcow2_put_be64(void *p, uint64_t v)
{
	uint8_t *b = p;

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

void qcow2_put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
}

void qcow2_put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
}

int qcow2_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {   /* past the end of the file: reads as zeroes */
			memset(p, 0, len);
			return 0;
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

int qcow2_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return block_fd_pwritev(fd, &v, 1, off);
}

int qcow2_sync(struct qcow2_state *s)
{
	if (s->no_flush)
		return 0;
	while (fdatasync(s->fd) < 0)
		if (errno != EINTR)
			return -errno;
	if (s->data_fd != s->fd)
		while (fdatasync(s->data_fd) < 0)
			if (errno != EINTR)
				return -errno;
	return 0;
}

const char *qcow2_strerror(int err)
{
	switch (err) {
	case QCOW2_E_BAD_MAGIC: return "not a qcow2 image (bad magic)";
	case QCOW2_E_VERSION: return "unsupported qcow2 version (only 2 and 3 exist)";
	case QCOW2_E_CLUSTER_BITS: return "image is corrupt: cluster_bits outside 9..21";
	case QCOW2_E_HEADER: return "image is corrupt: invalid header (length, size or backing file name)";
	case QCOW2_E_L1_SIZE: return "image is corrupt: L1 table size too large or too small for the disk size";
	case QCOW2_E_L1_OFFSET: return "image is corrupt: L1 table misaligned, beyond the end of the file or overlapping the header";
	case QCOW2_E_REFCOUNT_ORDER: return "image is corrupt: refcount_order above 6 (or not 4 in a version 2 image)";
	case QCOW2_E_REFTABLE: return "image is corrupt: refcount table misaligned, too large, beyond the end of the file or overlapping the header";
	case QCOW2_E_INCOMPAT:
		if (incompat_detail[0])
			return incompat_detail;
		return "image uses unknown incompatible features";
	case QCOW2_E_CORRUPT: return "image is marked corrupt; it can only be opened read-only (repair it with check -r all)";
	case QCOW2_E_L1_ENTRY: return "image is corrupt: an L1 entry is misaligned or points beyond the end of the file or into metadata";
	case QCOW2_E_L2_ENTRY: return "image is corrupt: an L2 entry is misaligned or points beyond the end of the file or into metadata";
	case QCOW2_E_COMPRESSED: return "image is corrupt: compressed cluster with an invalid length, offset or data";
	case QCOW2_E_EXTENSION: return "image is corrupt: truncated or malformed header extension";
	case QCOW2_E_BACKING: return "backing file chain is invalid, loops or is deeper than 64";
	case QCOW2_E_DATA_FILE: return "external data file missing or unusable";
	case QCOW2_E_COMPRESSION_TYPE: return "unknown compression type in the header";
	case QCOW2_E_REFCOUNT: return "image is corrupt: invalid refcount table or block entry, or refcount overflow";
	case QCOW2_E_SNAPSHOT: return "image is corrupt: invalid snapshot table";
	case QCOW2_E_NO_SNAPSHOT: return "no snapshot with that name or id";
	case QCOW2_E_SNAPSHOT_EXISTS: return "a snapshot with that name already exists";
	case QCOW2_E_DIRTY: return "image has the dirty bit set and needs repair (open read-write or check -r all)";
	case QCOW2_E_OVERLAP: return "refusing a write that would overwrite qcow2 metadata";
	case QCOW2_E_UNSUPPORTED: return "image uses a feature this driver does not support (encryption)";
	}
	return NULL;
}

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "QFI\xfb", 4) == 0 ? 100 : 0;
}

int qcow2_overlaps_fixed(struct qcow2_state *s, uint64_t off, uint64_t len)
{
	uint64_t cs = s->cluster_size;
#define OVL(a, l) ((l) > 0 && off < (a) + (l) && (a) < off + len)
	if (OVL(0, cs))
		return 1;
	if (OVL(s->l1_offset, (uint64_t)s->l1_size * 8))
		return 1;
	if (OVL(s->reftable_offset, (uint64_t)s->reftable_clusters * cs))
		return 1;
	if (s->nb_snapshots && OVL(s->snapshots_offset, s->snapshots_size ? s->snapshots_size : cs))
		return 1;
#undef OVL
	return 0;
}

int qcow2_overlaps_metadata(struct qcow2_state *s, uint64_t off, uint64_t len)
{
	uint64_t cs = s->cluster_size;

	if (qcow2_overlaps_fixed(s, off, len))
		return 1;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2 = s->l1[i] & QCOW2_L1_OFFSET_MASK;

		if (l2 && off < l2 + cs && l2 < off + len)
			return 1;
	}
	for (uint64_t i = 0; i < s->reftable_used; i++) {
		uint64_t rb = s->reftable[i];

		if (rb && off < rb + cs && rb < off + len)
			return 1;
	}
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint64_t o = s->snaps[i].l1_offset, l = (uint64_t)s->snaps[i].l1_size * 8;

		if (l && off < o + l && o < off + len)
			return 1;
	}
	return 0;
}

static const char *const feature_default[3][8] = {
	{ "dirty bit", "corrupt bit", "external data file", "compression type", "extended L2 entries" },
	{ "lazy refcounts" },
	{ "bitmaps", "raw external data" },
};

/* Writes the header cluster: fields, extensions, backing file name. */
int qcow2_write_header(struct qcow2_state *s)
{
	uint32_t cs = s->cluster_size;
	uint8_t *h = calloc(1, cs);
	size_t p, hl;
	int ret;

	if (!h)
		return -ENOMEM;
	qcow2_put_be32(h, QCOW2_MAGIC);
	qcow2_put_be32(h + 4, s->version);
	qcow2_put_be32(h + 20, s->cluster_bits);
	qcow2_put_be64(h + 24, s->size);
	qcow2_put_be32(h + 36, s->l1_size);
	qcow2_put_be64(h + 40, s->l1_offset);
	qcow2_put_be64(h + 48, s->reftable_offset);
	qcow2_put_be32(h + 56, s->reftable_clusters);
	qcow2_put_be32(h + 60, s->nb_snapshots);
	qcow2_put_be64(h + 64, s->snapshots_offset);
	if (s->version >= 3) {
		hl = 112;
		qcow2_put_be64(h + 72, s->incompat);
		qcow2_put_be64(h + 80, s->compat);
		qcow2_put_be64(h + 88, s->autoclear);
		qcow2_put_be32(h + 96, s->refcount_order);
		qcow2_put_be32(h + 100, (uint32_t)hl);
		h[104] = s->compression_type;
	} else {
		hl = 72;
	}
	p = hl;
#define EXT(type, len, src) do { \
	size_t _l = (len), _pad = (_l + 7) & ~(size_t)7; \
	if (p + 8 + _pad + 8 > cs) { ret = -ENOSPC; goto out; } \
	qcow2_put_be32(h + p, (type)); qcow2_put_be32(h + p + 4, (uint32_t)_l); \
	memcpy(h + p + 8, (src), _l); p += 8 + _pad; } while (0)
	if (s->data_file)
		EXT(QCOW2_EXT_DATA_FILE, strlen(s->data_file), s->data_file);
	if (s->backing_fmt)
		EXT(QCOW2_EXT_BACKING_FMT, strlen(s->backing_fmt), s->backing_fmt);
	for (int i = 0; i < s->nexts; i++)
		EXT(s->exts[i].type, s->exts[i].len, s->exts[i].data);
	if (s->version >= 3) {
		uint8_t tab[8 * 48];
		size_t n = 0, need;

		memset(tab, 0, sizeof(tab));
		for (int t = 0; t < 3; t++)
			for (int b = 0; b < 8; b++)
				if (feature_default[t][b]) {
					tab[n * 48] = (uint8_t)t;
					tab[n * 48 + 1] = (uint8_t)b;
					strncpy((char *)tab + n * 48 + 2, feature_default[t][b], 46);
					n++;
				}
		need = p + 8 + n * 48 + 8 + (s->backing_file ? strlen(s->backing_file) : 0);
		if (need <= cs)   /* optional: tiny clusters leave it out */
			EXT(QCOW2_EXT_FEATURES, n * 48, tab);
	}
#undef EXT
	p += 8;   /* end-of-extensions marker: zeroes */
	if (s->backing_file) {
		size_t l = strlen(s->backing_file);

		if (p + l > cs) {
			ret = -ENOSPC;
			goto out;
		}
		memcpy(h + p, s->backing_file, l);
		qcow2_put_be64(h + 8, p);
		qcow2_put_be32(h + 16, (uint32_t)l);
	}
	ret = qcow2_pwrite(s->fd, h, cs, 0);
out:
	free(h);
	return ret;
}

int qcow2_write_l1_entry(struct qcow2_state *s, unsigned idx)
{
	uint8_t b[8];

	qcow2_put_be64(b, s->l1[idx]);
	return qcow2_pwrite(s->fd, b, 8, s->l1_offset + (uint64_t)idx * 8);
}

/* The incompatible features field (qcow2.txt "Header", bytes 72-79, v3). */
static int write_incompat(struct qcow2_state *s)
{
	uint8_t b[8];
	int ret;

	qcow2_put_be64(b, s->incompat);
	ret = qcow2_pwrite(s->fd, b, 8, 72);
	return ret < 0 ? ret : qcow2_sync(s);
}

int qcow2_mark_dirty(struct qcow2_state *s)
{
	int ret;

	if (!qcow2_lazy(s) || s->dirty_marked)
		return 0;
	s->incompat |= QCOW2_INCOMPAT_DIRTY;
	ret = write_incompat(s);
	if (ret == 0)
		s->dirty_marked = 1;
	return ret;
}

/* After the refcounts are on disk: the image is consistent again. */
static int mark_clean(struct qcow2_state *s)
{
	int ret;

	if (!s->dirty_marked)
		return 0;
	s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
	ret = write_incompat(s);
	if (ret == 0)
		s->dirty_marked = 0;
	return ret;
}

static void set_incompat_detail(struct qcow2_state *s, uint64_t bits)
{
	size_t n = (size_t)snprintf(incompat_detail, sizeof(incompat_detail),
				    "image uses unsupported incompatible feature(s):");

	for (int b = 0; b < 64 && n < sizeof(incompat_detail); b++) {
		if (!(bits & (1ull << b)))
			continue;
		if (s->feature_names && b < 64 && s->feature_names[b][0][0])
			n += (size_t)snprintf(incompat_detail + n, sizeof(incompat_detail) - n, " %s",
					      s->feature_names[b][0]);
		else
			n += (size_t)snprintf(incompat_detail + n, sizeof(incompat_detail) - n,
					      " unknown bit %d", b);
	}
}

static char *dup_n(const uint8_t *p, size_t n)
{
	char *r = malloc(n + 1);

	if (r) {
		memcpy(r, p, n);
		r[n] = 0;
	}
	return r;
}

/* Header extensions from hl to the end of the first cluster. */
static int parse_extensions(struct qcow2_state *s, const uint8_t *h, size_t hl, size_t limit)
{
	size_t p = hl;

	for (;;) {
		uint32_t type, len;

		if (p + 8 > limit)
			return QCOW2_E_EXTENSION;
		type = qcow2_be32(h + p);
		len = qcow2_be32(h + p + 4);
		p += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > limit - p)
			return QCOW2_E_EXTENSION;
		switch (type) {
		case QCOW2_EXT_BACKING_FMT:
			if (len > 1023 || s->backing_fmt)
				return QCOW2_E_EXTENSION;
			s->backing_fmt = dup_n(h + p, len);
			if (!s->backing_fmt)
				return -ENOMEM;
			break;
		case QCOW2_EXT_DATA_FILE:
			if (len == 0 || len > PATH_MAX || s->data_file || memchr(h + p, 0, len))
				return QCOW2_E_EXTENSION;
			s->data_file = dup_n(h + p, len);
			if (!s->data_file)
				return -ENOMEM;
			break;
		case QCOW2_EXT_FEATURES:
			if (len % 48)
				return QCOW2_E_EXTENSION;
			if (!s->feature_names) {
				s->feature_names = calloc(64, sizeof(*s->feature_names));
				if (!s->feature_names)
					return -ENOMEM;
			}
			for (uint32_t i = 0; i < len / 48; i++) {
				const uint8_t *f = h + p + i * 48;

				if (f[0] < 3 && f[1] < 64)
					memcpy(s->feature_names[f[1]][f[0]], f + 2, 46);
			}
			break;
		default: {
			struct qcow2_ext *e = realloc(s->exts, sizeof(*e) * (size_t)(s->nexts + 1));

			if (!e)
				return -ENOMEM;
			s->exts = e;
			e[s->nexts].type = type;
			e[s->nexts].len = len;
			e[s->nexts].data = malloc(len ? len : 1);
			if (!e[s->nexts].data)
				return -ENOMEM;
			memcpy(e[s->nexts].data, h + p, len);
			s->nexts++;
		}
		}
		p += ((size_t)len + 7) & ~(size_t)7;
		if (p > limit)
			return QCOW2_E_EXTENSION;
	}
}

/* name relative to the directory of path, unless absolute. */
static char *resolve_relative(const char *path, const char *name)
{
	const char *slash = strrchr(path, '/');
	size_t dl;
	char *r;

	if (name[0] == '/' || !slash)
		return strdup(name);
	dl = (size_t)(slash - path) + 1;
	r = malloc(dl + strlen(name) + 1);
	if (r) {
		memcpy(r, path, dl);
		strcpy(r + dl, name);
	}
	return r;
}

static void state_free(struct qcow2_state *s)
{
	if (!s)
		return;
	qcow2_cache_free(&s->l2_cache);
	qcow2_cache_free(&s->rb_cache);
	qcow2_snapshots_free(s);
	if (s->direct_fd >= 0)
		close(s->direct_fd);
	if (s->data_fd >= 0 && s->data_fd != s->fd)
		close(s->data_fd);
	if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; i < s->nexts; i++)
		free(s->exts[i].data);
	free(s->exts);
	free(s->feature_names);
	free(s->backing_file);
	free(s->backing_fmt);
	free(s->data_file);
	free(s->l1);
	free(s->reftable);
	free(s->deferred);
	free(s->bounce);
	qcow2_wio_detach(s);
	pthread_mutex_destroy(&s->wio_lock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* cache=none: data I/O through a second, O_DIRECT descriptor of the data
 * file (metadata stays on the buffered one; Linux keeps the two coherent). */
static int open_direct(struct qcow2_state *s, const char *path, int ro)
{
	struct statx stx;
	char *dp = s->data_fd != s->fd ? resolve_relative(path, s->data_file) : strdup(path);
	void *buf;
	ssize_t n;

	if (!dp)
		return -ENOMEM;
	s->direct_fd = open(dp, (ro ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
	free(dp);
	if (s->direct_fd < 0)
		return errno == EINVAL ? BLOCK_E_NO_DIRECT : -errno;
	s->dio_mem_align = 512;
	s->dio_off_align = 512;
	if (statx(s->direct_fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
		if (stx.stx_dio_offset_align == 0)
			return BLOCK_E_NO_DIRECT;
		if (stx.stx_dio_mem_align > s->dio_mem_align)
			s->dio_mem_align = stx.stx_dio_mem_align;
		if (stx.stx_dio_offset_align > s->dio_off_align)
			s->dio_off_align = stx.stx_dio_offset_align;
	}
	if (s->dio_mem_align > 65536 || s->dio_off_align > 65536)
		return BLOCK_E_NO_DIRECT;
	if (posix_memalign(&buf, 4096, 65536))
		return -ENOMEM;
	n = pread(s->direct_fd, buf, s->dio_off_align, 0);
	free(buf);
	return n < 0 && errno == EINVAL ? BLOCK_E_NO_DIRECT : 0;
}

static int open_backing(struct block_dev *bs, struct qcow2_state *s, const char *path)
{
	struct block_open_opts o = { 0 };
	char *bpath;
	int ret;

	if (backing_depth >= QCOW2_MAX_BACKING_DEPTH)
		return QCOW2_E_BACKING;
	bpath = resolve_relative(path, s->backing_file);
	if (!bpath)
		return -ENOMEM;
	if (s->backing_fmt && !block_find_driver(s->backing_fmt)) {
		free(bpath);
		return QCOW2_E_BACKING;
	}
	ret = block_engine_create(&s->bk_engine, 16, 0);
	if (ret < 0)
		ret = block_engine_create(&s->bk_engine, 16, 1);
	if (ret < 0) {
		free(bpath);
		return ret;
	}
	o.format = s->backing_fmt;
	o.read_only = 1;
	backing_depth++;
	ret = block_open(&bs->backing, bpath, &o, s->bk_engine, NULL);
	backing_depth--;
	free(bpath);
	if (ret < 0) {
		bs->backing = NULL;
		block_engine_destroy(s->bk_engine);
		s->bk_engine = NULL;
	}
	return ret;
}

static int qcow2_open(struct block_dev *bs, const char *path, const struct block_open_opts *opts)
{
	struct qcow2_state *s = calloc(1, sizeof(*s));
	uint8_t hdr[112], *h = NULL;
	struct stat st;
	uint64_t fsize, cs, l2_cov, need_l1;
	size_t hl;
	int ret;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wio_lock, NULL);
	s->data_fd = -1;
	s->direct_fd = -1;
	s->read_only = opts->read_only;
	s->no_flush = opts->no_flush;
	s->fd = open(path, (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (s->fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (fstat(s->fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	fsize = (uint64_t)st.st_size;
	memset(hdr, 0, sizeof(hdr));
	if (fsize < 72) {
		ret = fsize >= 4 ? QCOW2_E_HEADER : QCOW2_E_BAD_MAGIC;
		if (fsize >= 4 && (ret = qcow2_pread(s->fd, hdr, 4, 0)) == 0 && qcow2_be32(hdr) != QCOW2_MAGIC)
			ret = QCOW2_E_BAD_MAGIC;
		else if (ret == 0)
			ret = QCOW2_E_HEADER;
		goto fail;
	}
	ret = qcow2_pread(s->fd, hdr, sizeof(hdr), 0);
	if (ret < 0)
		goto fail;
	ret = QCOW2_E_BAD_MAGIC;
	if (qcow2_be32(hdr) != QCOW2_MAGIC)
		goto fail;
	s->version = qcow2_be32(hdr + 4);
	ret = QCOW2_E_VERSION;
	if (s->version != 2 && s->version != 3)
		goto fail;
	s->cluster_bits = qcow2_be32(hdr + 20);
	ret = QCOW2_E_CLUSTER_BITS;
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		goto fail;
	s->cluster_size = 1u << s->cluster_bits;
	cs = s->cluster_size;
	s->size = qcow2_be64(hdr + 24);
	s->l1_size = qcow2_be32(hdr + 36);
	s->l1_offset = qcow2_be64(hdr + 40);
	s->reftable_offset = qcow2_be64(hdr + 48);
	s->reftable_clusters = qcow2_be32(hdr + 56);
	s->nb_snapshots = qcow2_be32(hdr + 60);
	s->snapshots_offset = qcow2_be64(hdr + 64);
	if (s->version == 2) {
		s->refcount_order = 4;
		hl = 72;
	} else {
		s->incompat = qcow2_be64(hdr + 72);
		s->compat = qcow2_be64(hdr + 80);
		s->autoclear = qcow2_be64(hdr + 88);
		s->refcount_order = qcow2_be32(hdr + 96);
		hl = qcow2_be32(hdr + 100);
		ret = QCOW2_E_HEADER;
		if (hl < 104 || hl % 8 || hl > cs || hl > fsize)
			goto fail;
		if (hl > 104)
			s->compression_type = hdr[104];
	}
	ret = QCOW2_E_REFCOUNT_ORDER;
	if (s->refcount_order > 6)
		goto fail;
	ret = QCOW2_E_UNSUPPORTED;
	if (qcow2_be32(hdr + 32) != 0)
		goto fail;
	ret = QCOW2_E_HEADER;
	if (s->size > (1ull << 62) || s->size % 512)
		goto fail;

	/* The first cluster: extensions, feature names, backing file name. */
	h = calloc(1, cs);
	if (!h) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = qcow2_pread(s->fd, h, cs, 0);
	if (ret < 0)
		goto fail;
	ret = parse_extensions(s, h, hl, cs);
	if (ret < 0)
		goto fail;

	incompat_detail[0] = 0;
	if (s->incompat & ~QCOW2_INCOMPAT_KNOWN) {
		set_incompat_detail(s, s->incompat & ~QCOW2_INCOMPAT_KNOWN);
		ret = QCOW2_E_INCOMPAT;
		goto fail;
	}
	ret = QCOW2_E_COMPRESSION_TYPE;
	if (s->compression_type > QCOW2_CTYPE_ZSTD ||
	    (s->compression_type != 0 && !(s->incompat & QCOW2_INCOMPAT_COMPRESSION)))
		goto fail;
	ret = QCOW2_E_CORRUPT;
	if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && !opts->read_only)
		goto fail;

	s->extl2 = !!(s->incompat & QCOW2_INCOMPAT_EXTL2);
	ret = QCOW2_E_CLUSTER_BITS;
	if (s->extl2 && s->cluster_bits < 14)   /* subclusters of at least 512 bytes */
		goto fail;
	s->l2_entry_bytes = s->extl2 ? 16 : 8;
	s->l2_entries = s->cluster_size / s->l2_entry_bytes;
	s->subcluster_size = s->extl2 ? s->cluster_size / QCOW2_SUBCLUSTERS : s->cluster_size;
	s->csize_shift = 62 - ((int)s->cluster_bits - 8);
	s->csize_mask = (1ull << ((int)s->cluster_bits - 8)) - 1;
	s->coffset_mask = (1ull << s->csize_shift) - 1;
	s->refblock_entries = (unsigned)((cs * 8) >> s->refcount_order);

	/* L1 table. */
	l2_cov = cs * s->l2_entries;
	need_l1 = (s->size + l2_cov - 1) / l2_cov;
	ret = QCOW2_E_L1_SIZE;
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES || s->l1_size < need_l1)
		goto fail;
	ret = QCOW2_E_L1_OFFSET;
	if (s->l1_size && (s->l1_offset % cs || s->l1_offset < cs ||
			   s->l1_offset > fsize || (uint64_t)s->l1_size * 8 > fsize - s->l1_offset))
		goto fail;
	ret = QCOW2_E_REFTABLE;
	if (s->reftable_offset % cs || s->reftable_offset < cs || s->reftable_clusters == 0 ||
	    (uint64_t)s->reftable_clusters * cs > QCOW2_MAX_REFTABLE_BYTES ||
	    s->reftable_offset > fsize || (uint64_t)s->reftable_clusters * cs > fsize - s->reftable_offset)
		goto fail;
	s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	if (!s->l1) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = qcow2_pread(s->fd, s->l1, (size_t)s->l1_size * 8, s->l1_offset);
	if (ret < 0)
		goto fail;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t e = qcow2_be64(&s->l1[i]), o = e & QCOW2_L1_OFFSET_MASK;

		s->l1[i] = e;
		ret = QCOW2_E_L1_ENTRY;
		if (o && (o % cs || o >= fsize || qcow2_overlaps_fixed(s, o, cs)))
			goto fail;
	}
	s->file_end = (fsize + cs - 1) & ~(cs - 1);
	ret = qcow2_refcount_load(s);
	if (ret < 0)
		goto fail;
	ret = qcow2_snapshots_load(s);
	if (ret < 0)
		goto fail;

	/* Backing file name. */
	{
		uint64_t bo = qcow2_be64(h + 8);
		uint32_t bl = qcow2_be32(h + 16);

		if (bo) {
			ret = QCOW2_E_HEADER;
			if (bl == 0 || bl > 1023 || bo > cs || bl > cs - bo || memchr(h + bo, 0, bl))
				goto fail;
			s->backing_file = dup_n(h + bo, bl);
			if (!s->backing_file) {
				ret = -ENOMEM;
				goto fail;
			}
		}
	}
	free(h);
	h = NULL;

	{
		uint64_t l2b = opts->l2_cache_bytes ? opts->l2_cache_bytes : (1u << 20);
		uint64_t rbb = opts->refcount_cache_bytes ? opts->refcount_cache_bytes : l2b / 4;
		unsigned nl2 = (unsigned)(l2b / cs), nrb = (unsigned)(rbb / cs);

		ret = qcow2_cache_init(&s->l2_cache, nl2 < 4 ? 4 : nl2 > 4096 ? 4096 : nl2, (unsigned)cs);
		if (ret == 0)
			ret = qcow2_cache_init(&s->rb_cache, nrb < 4 ? 4 : nrb > 4096 ? 4096 : nrb, (unsigned)cs);
		if (ret < 0)
			goto fail;
	}
	s->bounce = malloc(cs);
	if (!s->bounce) {
		ret = -ENOMEM;
		goto fail;
	}

	/* External data file. */
	s->data_fd = s->fd;
	if (s->incompat & QCOW2_INCOMPAT_DATA_FILE) {
		char *dp;

		ret = QCOW2_E_DATA_FILE;
		if (!s->data_file)
			goto fail;
		dp = resolve_relative(path, s->data_file);
		if (!dp) {
			ret = -ENOMEM;
			goto fail;
		}
		s->data_fd = open(dp, (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		free(dp);
		if (s->data_fd < 0) {
			s->data_fd = s->fd;
			ret = QCOW2_E_DATA_FILE;
			goto fail;
		}
	} else if (s->data_file) {
		free(s->data_file);   /* an extension without the bit means nothing */
		s->data_file = NULL;
	}
	if (opts->cache_direct) {
		ret = open_direct(s, path, opts->read_only);
		if (ret < 0)
			goto fail;
	}

	bs->priv = s;
	bs->size = s->size;
	bs->read_only = opts->read_only;
	if (s->backing_file) {
		ret = open_backing(bs, s, path);
		if (ret < 0) {
			bs->priv = NULL;
			goto fail;
		}
	}

	if (!opts->read_only) {
		int rewrite = 0;

		/* Autoclear bits we do not maintain are cleared (qcow2.txt). */
		if (s->autoclear & ~QCOW2_AUTOCLEAR_DATA_RAW) {
			s->autoclear &= QCOW2_AUTOCLEAR_DATA_RAW;
			rewrite = 1;
		}
		if (s->incompat & QCOW2_INCOMPAT_DIRTY) {
			struct qcow2_check_result r;

			ret = qcow2_check(bs, QCOW2_FIX_LEAKS | QCOW2_FIX_ERRORS, &r);
			if (ret < 0)
				goto fail_backing;
			s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
			s->dirty_marked = 0;
			rewrite = 1;
		}
		if (rewrite) {
			ret = qcow2_write_header(s);
			if (ret == 0)
				ret = qcow2_sync(s);
			if (ret < 0)
				goto fail_backing;
		}
	}
	return 0;

fail_backing:
	bs->priv = NULL;
	if (bs->backing) {
		block_close(bs->backing);
		bs->backing = NULL;
	}
	if (s->bk_engine)
		block_engine_destroy(s->bk_engine);
fail:
	free(h);
	state_free(s);
	return ret;
}

static void qcow2_close(struct block_dev *bs)
{
	struct qcow2_state *s = bs->priv;

	if (!s)
		return;
	if (!s->read_only) {
		pthread_mutex_lock(&s->lock);
		qcow2_wio_detach(s);   /* drained by now: every deferred free applies */
		if (qcow2_flush_all(s) == 0)
			mark_clean(s);
		/* The part of the tail allocated ahead that no cluster took. */
		if (s->zero_end > s->file_end && ftruncate(s->fd, (off_t)s->file_end) < 0)
			fprintf(stderr, "qcow2: could not trim the preallocated tail: %s\n", strerror(errno));
		pthread_mutex_unlock(&s->lock);
	}
	if (bs->backing) {
		block_close(bs->backing);
		bs->backing = NULL;
	}
	if (s->bk_engine)
		block_engine_destroy(s->bk_engine);
	state_free(s);
	bs->priv = NULL;
}

static int qcow2_flush(struct block_dev *bs, block_done_fn done, void *opaque)
{
	struct qcow2_state *s = bs->priv;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = qcow2_flush_all(s);
	pthread_mutex_unlock(&s->lock);
	return block_engine_complete(bs->engine, done, opaque, ret);
}

int qcow2_flush_metadata(struct block_dev *bs)
{
	struct qcow2_state *s;
	int ret;

	if (!bs || bs->drv != &block_driver_qcow2)
		return -EINVAL;
	s = bs->priv;
	if (s->read_only)
		return 0;
	pthread_mutex_lock(&s->lock);
	ret = qcow2_flush_all(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

unsigned qcow2_cluster_size(struct block_dev *bs)
{
	if (!bs || bs->drv != &block_driver_qcow2)
		return 0;
	return ((struct qcow2_state *)bs->priv)->cluster_size;
}

int qcow2_get_info(struct block_dev *bs, struct qcow2_info *out)
{
	struct qcow2_state *s;
	struct stat st;

	if (!bs || !out || bs->drv != &block_driver_qcow2)
		return -EINVAL;
	s = bs->priv;
	memset(out, 0, sizeof(*out));
	out->version = (int)s->version;
	out->cluster_size = s->cluster_size;
	out->refcount_bits = 1u << s->refcount_order;
	out->lazy_refcounts = !!(s->compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
	out->corrupt = !!(s->incompat & QCOW2_INCOMPAT_CORRUPT);
	out->extended_l2 = s->extl2;
	out->dirty = !!(s->incompat & QCOW2_INCOMPAT_DIRTY);
	out->compression_type = s->compression_type == QCOW2_CTYPE_ZSTD ? "zstd" : "zlib";
	out->data_file = s->data_file;
	out->backing_file = s->backing_file;
	out->backing_fmt = s->backing_fmt;
	out->virtual_size = s->size;
	if (fstat(s->fd, &st) == 0)
		out->actual_size_hint = (uint64_t)st.st_blocks * 512;
	return 0;
}

int qcow2_change_backing_file(struct block_dev *bs, const char *file, const char *fmt)
{
	struct qcow2_state *s;
	char *nf = NULL, *nfmt = NULL, *of, *ofmt;
	int ret;

	if (!bs || bs->drv != &block_driver_qcow2)
		return -EINVAL;
	s = bs->priv;
	if (s->read_only)
		return -EROFS;
	if ((file && (strlen(file) > 1023 || !*file)) || (fmt && strlen(fmt) > 1023))
		return -EINVAL;
	if ((file && !(nf = strdup(file))) || (file && fmt && !(nfmt = strdup(fmt)))) {
		free(nf);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	of = s->backing_file, ofmt = s->backing_fmt;
	s->backing_file = nf, s->backing_fmt = nfmt;
	ret = qcow2_write_header(s);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret < 0) {
		s->backing_file = of, s->backing_fmt = ofmt;
		free(nf), free(nfmt);
	} else {
		free(of), free(ofmt);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

const struct block_driver block_driver_qcow2 = {
	.format = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.preadv = qcow2_rw_preadv,
	.pwritev = qcow2_rw_pwritev,
	.flush = qcow2_flush,
	.discard = qcow2_rw_discard,
	.write_zeroes = qcow2_rw_write_zeroes,
	.block_status = qcow2_rw_block_status,
	.truncate = qcow2_rw_truncate,
};
