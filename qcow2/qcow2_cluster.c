/* QCOW2 cluster mapping and guest I/O (qcow2.txt "Cluster mapping",
 * "Extended L2 Entries", "Compressed Clusters Descriptor"): L1 -> L2 ->
 * host lookups with every offset validated, reads merged into one host I/O
 * per contiguous run, allocating writes with copy-on-write (per subcluster
 * with extended L2), discard, write-zeroes, block status (L2 entries and
 * tables: qcow2_l2.c; resizing: qcow2_resize.c).
 * Metadata work is synchronous under s->lock; reads of allocated clusters
 * and overwrites of clusters this image owns (COPIED) go to the engine,
 * counted (reads, per epoch) or listed (overwrites) until they complete so
 * that deferred frees of their clusters wait for them. */
#include "qcow2/qcow2_int.h"
#include "block/iov.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALLOC_RUN_BYTES (4u << 20)

/* --- synchronous data writes (cache=none: O_DIRECT like the engine's) */

/* A buffer for data headed for the O_DIRECT descriptor; zeroed when zero. */
static void *data_buf(struct qcow2_state *s, size_t len, int zero)
{
	void *p;

	if (posix_memalign(&p, s->dio_mem_align > 4096 ? s->dio_mem_align : 4096, len ? len : 1))
		return NULL;
	if (zero)
		memset(p, 0, len);
	return p;
}

#define SLICE_STACK 8

/* Bytes [ioff, ioff+len) of iov as an iovec of *n entries: in stack (of
 * SLICE_STACK entries) when they fit, else allocated (free it when it is not
 * stack). NULL when out of memory. */
static struct iovec *slice_range(const struct iovec *iov, int cnt, size_t ioff, uint64_t len,
				 struct iovec *stack, int *n)
{
	struct iovec *sl = cnt <= SLICE_STACK ? stack : malloc(sizeof(*sl) * (size_t)cnt);

	if (sl)
		*n = block_iov_slice(iov, cnt, ioff, len, sl, cnt);
	return sl;
}

/* Writes bytes [ioff, ioff+len) of iov at host in the data file. cache=none:
 * through the O_DIRECT descriptor, from the caller's buffers when they are
 * aligned, else through an aligned bounce; buffered only when host or len
 * is not aligned for O_DIRECT (as qcow2_data_fd_for). */
static int data_writev(struct qcow2_state *s, uint64_t host, const struct iovec *iov, int cnt, size_t ioff,
		       size_t len)
{
	struct iovec stack[SLICE_STACK];
	void *b = NULL;
	int n = 0, fd, ret;
	struct iovec *sl = slice_range(iov, cnt, ioff, len, stack, &n);

	if (!sl)
		return -ENOMEM;
	fd = qcow2_data_fd_for(s, host, sl, n);
	if (fd != s->direct_fd && s->direct_fd >= 0 && host % s->dio_off_align == 0 && len % s->dio_off_align == 0) {
		/* Only the memory is unaligned. */
		b = data_buf(s, len, 0);
		if (!b) {
			ret = -ENOMEM;
			goto out;
		}
		block_iov_to_buf(sl, n, 0, b, len);
		sl[0].iov_base = b, sl[0].iov_len = len, n = 1;
		fd = s->direct_fd;
	}
	ret = block_fd_pwritev(fd, sl, n, host);
out:
	free(b);
	if (sl != stack)
		free(sl);
	return ret;
}

static int data_write(struct qcow2_state *s, uint64_t host, const void *buf, size_t len)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return data_writev(s, host, &v, 1, 0, len);
}

/* --- requests split over several host I/Os */

struct qreq {
	block_done_fn done;
	void *opaque;
	int pending;
	int ret;
	unsigned *rd;          /* read epoch counted in (qcow2_read_enter), or NULL */
};

/* Every host I/O of q completed: its reads no longer hold deferred frees. */
static void qreq_free(struct qreq *q)
{
	if (q->rd)
		qcow2_read_exit(q->rd);
	free(q);
}

static void qreq_put(struct qreq *q, int ret)
{
	if (ret < 0)
		__atomic_compare_exchange_n(&q->ret, &(int){ 0 }, ret, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (__atomic_sub_fetch(&q->pending, 1, __ATOMIC_SEQ_CST) == 0) {
		block_done_fn done = q->done;
		void *opaque = q->opaque;

		ret = __atomic_load_n(&q->ret, __ATOMIC_SEQ_CST);
		qreq_free(q);
		done(opaque, ret);
	}
}

static void qreq_sub_done(void *opaque, int ret)
{
	qreq_put(opaque, ret);
}

/* Ends the submit call's own reference: finishes through the engine when no
 * host I/O is left, so done() never runs inside the submit call. */
static int qreq_finish(struct block_dev *bs, struct qreq *q, int err, int submitted)
{
	if (err < 0 && !submitted) {
		qreq_free(q);
		return err;
	}
	if (err < 0)
		__atomic_compare_exchange_n(&q->ret, &(int){ 0 }, err, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	if (__atomic_sub_fetch(&q->pending, 1, __ATOMIC_SEQ_CST) == 0) {
		/* Every host I/O already completed (or there was none). */
		int ret = __atomic_load_n(&q->ret, __ATOMIC_SEQ_CST);
		block_done_fn done = q->done;
		void *opaque = q->opaque;

		qreq_free(q);
		ret = block_engine_complete(bs->engine, done, opaque, ret);
		/* The request's host I/O is done: it cannot be failed now. */
		return submitted ? 0 : ret;
	}
	return 0;
}

/* --- overwrites in flight: a deferred free of their cluster waits for them */

struct qcow2_wio {
	struct qcow2_wio *prev, *next;
	struct qcow2_state *s;     /* NULL once detached (image closed) */
	struct qreq *q;
	uint64_t start, end;       /* host bytes */
};

static void wio_unlink(struct qcow2_state *s, struct qcow2_wio *w)
{
	pthread_mutex_lock(&s->wio_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		s->wio = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&s->wio_lock);
}

static void wio_done(void *opaque, int ret)
{
	struct qcow2_wio *w = opaque;
	struct qcow2_state *s = __atomic_load_n(&w->s, __ATOMIC_ACQUIRE);
	struct qreq *q = w->q;

	if (s)
		wio_unlink(s, w);
	free(w);
	qreq_put(q, ret);
}

/* Submits an in-place write of slice to host, listed until it completes. */
static int wio_submit(struct block_dev *bs, uint64_t host, const struct iovec *slice, int n, uint64_t len,
		      struct qreq *q)
{
	struct qcow2_state *s = bs->priv;
	struct qcow2_wio *w = malloc(sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->s = s, w->q = q, w->start = host, w->end = host + len, w->prev = NULL;
	pthread_mutex_lock(&s->wio_lock);
	w->next = s->wio;
	if (w->next)
		w->next->prev = w;
	s->wio = w;
	pthread_mutex_unlock(&s->wio_lock);
	__atomic_add_fetch(&q->pending, 1, __ATOMIC_SEQ_CST);
	ret = block_engine_pwritev(bs->engine, qcow2_data_fd_for(s, host, slice, n), host, slice, n, wio_done, w);
	if (ret < 0) {
		__atomic_sub_fetch(&q->pending, 1, __ATOMIC_SEQ_CST);
		wio_unlink(s, w);
		free(w);
	}
	return ret;
}

/* Submits guest bytes [ioff, ioff+len) of iov as one in-flight write to host
 * (the engine copies the iovec, so the slice can live on the stack). */
static int wio_submit_range(struct block_dev *bs, uint64_t host, const struct iovec *iov, int cnt,
			    size_t ioff, uint64_t len, struct qreq *q)
{
	struct iovec stack[SLICE_STACK];
	int n = 0, ret;
	struct iovec *sl = slice_range(iov, cnt, ioff, len, stack, &n);

	if (!sl)
		return -ENOMEM;
	ret = wio_submit(bs, host, sl, n, len, q);
	if (sl != stack)
		free(sl);
	return ret;
}

int qcow2_wio_busy(struct qcow2_state *s, uint64_t off, uint64_t len)
{
	int busy = 0;

	if (!__atomic_load_n(&s->wio, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&s->wio_lock);
	for (struct qcow2_wio *w = s->wio; w && !busy; w = w->next)
		busy = w->start < off + len && off < w->end;
	pthread_mutex_unlock(&s->wio_lock);
	return busy;
}

void qcow2_wio_detach(struct qcow2_state *s)
{
	pthread_mutex_lock(&s->wio_lock);
	for (struct qcow2_wio *w = s->wio; w; w = w->next)
		__atomic_store_n(&w->s, NULL, __ATOMIC_RELEASE);
	s->wio = NULL;
	pthread_mutex_unlock(&s->wio_lock);
}

/* Kind of subcluster sc (0 without extended L2) of an entry. */
static int entry_kind(struct qcow2_state *s, uint64_t e, uint64_t bm, unsigned sc, uint64_t *host)
{
	*host = 0;
	if (e & QCOW2_OFLAG_COMPRESSED)
		return QCOW2_C_COMPRESSED;
	if (s->extl2) {
		if ((bm >> sc) & 1) {
			*host = e & QCOW2_L2_OFFSET_MASK;
			return qcow2_has_host(s, e) ? QCOW2_C_NORMAL : QCOW2_C_ZERO;
		}
		return (bm >> (32 + sc)) & 1 ? QCOW2_C_ZERO : QCOW2_C_UNALLOCATED;
	}
	if (e & QCOW2_OFLAG_ZERO)
		return QCOW2_C_ZERO;
	*host = e & QCOW2_L2_OFFSET_MASK;
	return qcow2_has_host(s, e) ? QCOW2_C_NORMAL : QCOW2_C_UNALLOCATED;
}

struct qmap {
	int kind;
	uint64_t host;    /* of voff, for NORMAL */
	uint64_t entry;   /* L2 entry of voff's cluster */
	uint64_t n;       /* bytes with this kind (contiguous host for NORMAL) */
};

/* Mapping of voff, merged over following (sub)clusters up to maxlen. */
static int map_range(struct qcow2_state *s, uint64_t voff, uint64_t maxlen, struct qmap *m)
{
	uint64_t cs = s->cluster_size, sub = s->subcluster_size;
	uint64_t vc = voff / cs, pos = voff, end = voff + maxlen, e, bm, host, first_host = 0;
	int ret, kind;

	ret = qcow2_get_l2_entry(s, vc, &e, &bm);
	if (ret < 0)
		return ret;
	m->entry = e;
	kind = entry_kind(s, e, bm, (unsigned)((voff % cs) / sub), &host);
	m->kind = kind;
	if (kind == QCOW2_C_NORMAL)
		first_host = host + voff % cs;
	m->host = first_host;
	if (kind == QCOW2_C_COMPRESSED) {
		uint64_t l = cs - voff % cs;

		m->n = l < maxlen ? l : maxlen;
		return 0;
	}
	/* Extend (sub)cluster by (sub)cluster while the kind stays. */
	pos = (voff / sub + 1) * sub;
	while (pos < end) {
		uint64_t c = pos / cs, h;
		int k;

		if (c != vc) {
			if (c - voff / cs > 4096)
				break;
			ret = qcow2_get_l2_entry(s, c, &e, &bm);
			if (ret < 0)
				break;
			vc = c;
		}
		k = entry_kind(s, e, bm, (unsigned)((pos % cs) / sub), &h);
		if (k != kind || (k == QCOW2_C_NORMAL && h + pos % cs != first_host + (pos - voff)))
			break;
		pos += sub;
	}
	m->n = (pos < end ? pos : end) - voff;
	return 0;
}

/* --- reads */

static int read_backing(struct block_dev *bs, uint64_t voff, const struct iovec *iov, int cnt,
			size_t ioff, uint64_t n)
{
	struct block_dev *b = bs->backing;
	uint64_t have = 0;
	uint8_t *tmp;
	int ret = 0;

	if (b && voff < b->size)
		have = b->size - voff < n ? b->size - voff : n;
	if (have < n)
		block_iov_memset(iov, cnt, ioff + have, 0, n - have);
	if (!have)
		return 0;
	tmp = malloc(have < (1u << 20) ? have : (1u << 20));
	if (!tmp)
		return -ENOMEM;
	for (uint64_t done = 0; done < have && ret == 0;) {
		size_t c = have - done < (1u << 20) ? (size_t)(have - done) : (1u << 20);

		ret = block_pread_sync(b, voff + done, tmp, c);
		if (ret == 0)
			block_iov_from_buf(iov, cnt, ioff + done, tmp, c);
		done += c;
	}
	free(tmp);
	return ret;
}

/* Reads [off, off+len) into iov. q NULL: everything synchronous. */
static int do_read(struct block_dev *bs, uint64_t off, const struct iovec *iov, int cnt, uint64_t len,
		   struct qreq *q, int *submitted)
{
	struct qcow2_state *s = bs->priv;
	struct iovec *slice = NULL;
	uint64_t pos = 0;
	int ret = 0;

	while (pos < len) {
		struct qmap m;

		ret = map_range(s, off + pos, len - pos, &m);
		if (ret < 0)
			break;
		switch (m.kind) {
		case QCOW2_C_ZERO:
			block_iov_memset(iov, cnt, pos, 0, m.n);
			break;
		case QCOW2_C_UNALLOCATED:
			ret = read_backing(bs, off + pos, iov, cnt, pos, m.n);
			break;
		case QCOW2_C_COMPRESSED:
			ret = qcow2_decompress(s, m.entry, s->bounce);
			if (ret == 0)
				block_iov_from_buf(iov, cnt, pos, s->bounce + (off + pos) % s->cluster_size, m.n);
			break;
		case QCOW2_C_NORMAL:
			if (!q) {
				uint8_t *tmp = malloc(m.n);

				if (!tmp) {
					ret = -ENOMEM;
					break;
				}
				ret = qcow2_pread(s->data_fd, tmp, m.n, m.host);
				if (ret == 0)
					block_iov_from_buf(iov, cnt, pos, tmp, m.n);
				free(tmp);
				break;
			}
			if (!slice && !(slice = malloc(sizeof(*slice) * (size_t)(cnt ? cnt : 1)))) {
				ret = -ENOMEM;
				break;
			}
			{
				int n = block_iov_slice(iov, cnt, pos, m.n, slice, cnt);

				if (!q->rd)
					q->rd = qcow2_read_enter(s);
				__atomic_add_fetch(&q->pending, 1, __ATOMIC_SEQ_CST);
				ret = block_engine_preadv(bs->engine, qcow2_data_fd_for(s, m.host, slice, n), m.host, slice, n,
							  qreq_sub_done, q);
				if (ret < 0)
					__atomic_sub_fetch(&q->pending, 1, __ATOMIC_SEQ_CST);
				else
					*submitted = 1;
			}
			break;
		}
		if (ret < 0)
			break;
		pos += m.n;
	}
	free(slice);
	return ret;
}

int qcow2_read_sync(struct block_dev *bs, uint64_t off, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	int sub = 0;

	return do_read(bs, off, &iov, 1, len, NULL, &sub);
}

typedef int (*qreq_fn)(struct block_dev *bs, uint64_t off, const struct iovec *iov, int cnt,
		       uint64_t len, struct qreq *q, int *submitted);

/* One guest request: a qreq completed once every host I/O that fn started has,
 * with the image lock held while fn maps and submits. */
static int qreq_submit(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		       block_done_fn done, void *opaque, qreq_fn fn)
{
	struct qcow2_state *s = bs->priv;
	struct qreq *q = calloc(1, sizeof(*q));
	uint64_t len = block_iov_size(iov, iovcnt);
	int ret, submitted = 0;

	if (!q)
		return -ENOMEM;
	q->done = done;
	q->opaque = opaque;
	q->pending = 1;
	pthread_mutex_lock(&s->lock);
	ret = fn(bs, off, iov, iovcnt, len, q, &submitted);
	pthread_mutex_unlock(&s->lock);
	return qreq_finish(bs, q, ret, submitted);
}

int qcow2_rw_preadv(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		    block_done_fn done, void *opaque)
{
	return qreq_submit(bs, off, iov, iovcnt, done, opaque, do_read);
}

/* --- writes */

/* Whether bytes [o, o+n) of cluster entry e/bm can be overwritten in place. */
static int can_overwrite(struct qcow2_state *s, uint64_t e, uint64_t bm, uint64_t o, uint64_t n)
{
	if (!(e & QCOW2_OFLAG_COPIED) || (e & QCOW2_OFLAG_COMPRESSED) || !qcow2_has_host(s, e))
		return 0;
	if (!s->extl2)
		return !(e & QCOW2_OFLAG_ZERO);
	for (uint64_t sc = o / s->subcluster_size; sc <= (o + n - 1) / s->subcluster_size; sc++)
		if (!((bm >> sc) & 1))
			return 0;
	return 1;
}

/* Extended L2, one cluster: writes only the subclusters [o, o+n) touches into
 * host (the cluster's existing host, or a new one when it has none), with the
 * partial head and tail subclusters completed from the current contents. */
static int write_subclusters(struct block_dev *bs, uint64_t vc, uint64_t e, uint64_t bm, uint64_t o,
			     uint64_t n, const struct iovec *iov, int cnt, size_t ioff)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, sub = s->subcluster_size;
	uint64_t so = o / sub * sub, eo = (o + n + sub - 1) / sub * sub, host = e & QCOW2_L2_OFFSET_MASK;
	uint64_t mask = 0;
	uint8_t *buf = data_buf(s, eo - so, 0);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (so < o)
		ret = qcow2_read_sync(bs, vc * cs + so, buf, sub);
	if (ret == 0 && o + n < eo)
		ret = qcow2_read_sync(bs, vc * cs + eo - sub, buf + (eo - so) - sub, sub);
	if (ret < 0)
		goto out;
	block_iov_to_buf(iov, cnt, ioff, buf + (o - so), n);
	if (!qcow2_has_host(s, e)) {
		int64_t c = s->data_fd != s->fd ? (int64_t)(vc * cs) : qcow2_alloc_clusters(s, 1);

		if (c < 0) {
			ret = (int)c;
			goto out;
		}
		host = (uint64_t)c;
	}
	if (s->data_fd == s->fd && qcow2_overlaps_metadata(s, host + so, eo - so)) {
		ret = QCOW2_E_OVERLAP;
		goto out;
	}
	ret = data_write(s, host + so, buf, eo - so);
	if (ret < 0)
		goto out;
	for (uint64_t sc = so / sub; sc < eo / sub; sc++)
		mask |= 1ull << sc;
	bm = (bm | mask) & ~(mask << 32);
	ret = qcow2_set_l2_entry(s, vc, host | QCOW2_OFLAG_COPIED, bm);
out:
	free(buf);
	return ret;
}

/* Whether guest bytes [off, off+len) read as zeroes without reading data. */
static int reads_zero(struct block_dev *bs, uint64_t off, uint64_t len)
{
	struct qcow2_state *s = bs->priv;

	while (len > 0) {
		struct qmap m;

		if (map_range(s, off, len, &m) < 0)
			return 0;
		if (m.kind != QCOW2_C_ZERO &&
		    !(m.kind == QCOW2_C_UNALLOCATED && (!bs->backing || off >= bs->backing->size)))
			return 0;
		if (m.kind == QCOW2_C_UNALLOCATED && bs->backing && off + m.n > bs->backing->size)
			return 0;
		off += m.n, len -= m.n;
	}
	return 1;
}

/* Points guest clusters [vc, vc+k) at the new host clusters from host. */
static int map_run(struct qcow2_state *s, uint64_t vc, uint64_t k, uint64_t host)
{
	int ret = 0;

	for (uint64_t i = 0; i < k && ret == 0; i++)
		ret = qcow2_set_l2_entry(s, vc + i, (host + i * s->cluster_size) | QCOW2_OFLAG_COPIED,
					 s->extl2 ? 0xffffffffull : 0);
	return ret;
}

/* The file grows ahead of allocations by this much at a time (fresh_zeroed). */
#define TAIL_CHUNK (1u << 20)

/* Whether the n bytes at host, just allocated when the image's clusters ended
 * at fresh_from, read as zeroes without zeroing them: clusters past every
 * cluster the image ever had were never written. The file is extended over
 * them with fallocate TAIL_CHUNK at a time, one call for many allocations
 * where QEMU's handle_alloc_space zeroes each; the new clusters stay whole
 * extents on the host disk as with QEMU, and an L2 entry never points past
 * the file's end. qcow2_close() trims what was not used. */
static int fresh_zeroed(struct qcow2_state *s, uint64_t fresh_from, uint64_t host, uint64_t n)
{
	uint64_t chunk = n > TAIL_CHUNK ? n : TAIL_CHUNK;

	if (s->data_fd != s->fd || host < fresh_from)
		return 0;
	if (host + n <= s->zero_end)
		return 1;
	if (fallocate(s->fd, 0, (off_t)host, (off_t)chunk) < 0)
		return 0;
	s->zero_end = host + chunk;
	return 1;
}

/* Whether bytes [ioff, ioff+len) of iov written at host go to the O_DIRECT fd. */
static int range_direct(struct qcow2_state *s, uint64_t host, const struct iovec *iov, int cnt, size_t ioff,
			uint64_t len)
{
	struct iovec stack[SLICE_STACK], *sl;
	int n = 0, direct;

	if (s->direct_fd < 0 || !(sl = slice_range(iov, cnt, ioff, len, stack, &n)))
		return 0;
	direct = qcow2_data_fd_for(s, host, sl, n) == s->direct_fd;
	if (sl != stack)
		free(sl);
	return direct;
}

/* Writes request bytes [wo, wo+wn) into the k new host clusters at host for
 * guest clusters from vc, whose other bytes read as zeroes on the host
 * already (zeroed), and maps them. With q (an asynchronous request) and
 * cache=none, the write does not wait: the clusters are mapped now and the
 * bytes written in flight (*submitted set), so allocating writes proceed at
 * the queue depth. A read racing it sees zeroes, and an L2 table written
 * meanwhile (after the sync that covers the zeroing, see qcow2_cache.c)
 * points at zeroes: what an unfinished write may leave. Buffered writes stay
 * synchronous: a page-cache copy costs less than an io_uring round trip. */
static int write_new_clusters(struct block_dev *bs, uint64_t vc, uint64_t k, uint64_t host, int zeroed,
			      uint64_t wo, uint64_t wn, const struct iovec *iov, int cnt, size_t ioff,
			      struct qreq *q, int *submitted)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, rel = wo - vc * cs;
	/* cache=none: rounded out to the O_DIRECT alignment (the bytes around
	 * are the new clusters' zeroes). */
	uint64_t a = s->direct_fd >= 0 ? s->dio_off_align : 1;
	uint64_t r0 = rel / a * a, r1 = (rel + wn + a - 1) / a * a;
	uint8_t *buf;
	int ret;

	if (r1 > k * cs)
		r1 = k * cs;
	if (r0 == rel && r1 == rel + wn && zeroed && q && range_direct(s, host + rel, iov, cnt, ioff, wn)) {
		ret = map_run(s, vc, k, host);
		if (ret == 0)
			ret = wio_submit_range(bs, host + rel, iov, cnt, ioff, wn, q);
		if (ret == 0)
			*submitted = 1;
		return ret;
	}
	if (r0 == rel && r1 == rel + wn) {
		ret = data_writev(s, host + rel, iov, cnt, ioff, wn);
	} else {
		buf = data_buf(s, r1 - r0, 1);
		if (!buf)
			return -ENOMEM;   /* the clusters leak until check */
		block_iov_to_buf(iov, cnt, ioff, buf + (rel - r0), wn);
		ret = data_write(s, host + r0, buf, r1 - r0);
		free(buf);
	}
	return ret < 0 ? ret : map_run(s, vc, k, host);
}

/* k clusters from vc get new host clusters holding their current contents
 * overlaid with the request bytes [wo, wo+wn) (guest offsets). */
static int write_alloc_run(struct block_dev *bs, uint64_t vc, uint64_t k, uint64_t wo, uint64_t wn,
			   const struct iovec *iov, int cnt, size_t ioff, struct qreq *q, int *submitted)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, start = vc * cs, end = (vc + k) * cs, fresh_from = s->file_end;
	int whole = wo == start && wo + wn == end;
	uint8_t *buf;
	int64_t host;
	int ret = 0;

	/* Whole clusters, or copy-on-write of zeroes (QEMU's
	 * handle_alloc_space): zero the new clusters without writing zeroes and
	 * write only the request's bytes. */
	if (whole || ((wo == start || reads_zero(bs, start, wo - start)) &&
		      (wo + wn == end || reads_zero(bs, wo + wn, end - wo - wn)))) {
		int zeroed;

		host = s->data_fd != s->fd ? (int64_t)start : qcow2_alloc_clusters(s, k);
		if (host < 0)
			return (int)host;
		zeroed = fresh_zeroed(s, fresh_from, (uint64_t)host, k * cs) ||
			 (!whole && fallocate(s->data_fd, FALLOC_FL_ZERO_RANGE, (off_t)host, (off_t)(k * cs)) == 0);
		if (zeroed || whole)
			return write_new_clusters(bs, vc, k, (uint64_t)host, zeroed, wo, wn, iov, cnt, ioff, q,
						  submitted);
		/* No fallocate here: write the zeroes ourselves. */
		buf = data_buf(s, k * cs, 1);
		if (!buf)
			return -ENOMEM;
		block_iov_to_buf(iov, cnt, ioff, buf + (wo - start), wn);
		ret = data_write(s, (uint64_t)host, buf, k * cs);
		free(buf);
		return ret < 0 ? ret : map_run(s, vc, k, (uint64_t)host);
	}
	buf = data_buf(s, k * cs, 0);
	if (!buf)
		return -ENOMEM;
	if (wo > start)
		ret = qcow2_read_sync(bs, start, buf, cs);
	if (ret == 0 && wo + wn < end && (k > 1 || wo == start))
		ret = qcow2_read_sync(bs, end - cs, buf + (k - 1) * cs, cs);
	if (ret < 0)
		goto out;
	block_iov_to_buf(iov, cnt, ioff, buf + (wo - start), wn);
	host = s->data_fd != s->fd ? (int64_t)start : qcow2_alloc_clusters(s, k);
	if (host < 0) {
		ret = (int)host;
		goto out;
	}
	/* Data first; the L2 entries reach the disk only after a sync. */
	ret = data_write(s, (uint64_t)host, buf, k * cs);
	if (ret == 0)
		ret = map_run(s, vc, k, (uint64_t)host);
out:
	free(buf);
	return ret;
}

static int do_write(struct block_dev *bs, uint64_t off, const struct iovec *iov, int cnt, uint64_t len,
		    struct qreq *q, int *submitted)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, pos = 0;
	int ret = 0;

	while (pos < len && ret == 0) {
		uint64_t voff = off + pos, vc = voff / cs, o = voff % cs;
		uint64_t n = cs - o < len - pos ? cs - o : len - pos, e, bm;

		ret = qcow2_get_l2_entry(s, vc, &e, &bm);
		if (ret < 0)
			break;
		if (can_overwrite(s, e, bm, o, n)) {
			uint64_t host = (e & QCOW2_L2_OFFSET_MASK) + o;
			/* A partly allocated extended-L2 cluster may get its other
			 * subclusters by copy-on-write in the next request, which
			 * reads the bytes next to these: they must be on the file. */
			int sync = s->extl2 && (bm & 0xffffffffull) != 0xffffffffull;

			/* Merge following clusters that are contiguous on the host. */
			while (pos + n < len && n < MAX_ALLOC_RUN_BYTES * 4) {
				uint64_t nvc = (voff + n) / cs, nn = cs < len - pos - n ? cs : len - pos - n;
				uint64_t ne, nbm;

				if (qcow2_get_l2_entry(s, nvc, &ne, &nbm) < 0 || !can_overwrite(s, ne, nbm, 0, nn) ||
				    (ne & QCOW2_L2_OFFSET_MASK) != host - o + (nvc - vc) * cs)
					break;
				if (s->extl2 && (nbm & 0xffffffffull) != 0xffffffffull)
					sync = 1;
				n += nn;
			}
			if (s->data_fd == s->fd && qcow2_overlaps_metadata(s, host, n)) {
				ret = QCOW2_E_OVERLAP;
				break;
			}
			if (!q || sync) {
				ret = data_writev(s, host, iov, cnt, pos, n);
			} else {
				ret = wio_submit_range(bs, host, iov, cnt, pos, n, q);
				if (ret == 0)
					*submitted = 1;
			}
			pos += n;
			continue;
		}
		if (s->extl2 && !(e & QCOW2_OFLAG_COMPRESSED) && n < cs &&
		    (!qcow2_has_host(s, e) || (e & QCOW2_OFLAG_COPIED))) {
			ret = write_subclusters(bs, vc, e, bm, o, n, iov, cnt, pos);
			pos += n;
			continue;
		}
		{
			/* A run of clusters needing new host clusters, within one L2 table. */
			uint64_t k = 1, wn = n;

			while (pos + wn < len && (k + 1) * cs <= MAX_ALLOC_RUN_BYTES &&
			       (vc + k) % s->l2_entries != 0) {
				uint64_t ne, nbm, nn = cs < len - pos - wn ? cs : len - pos - wn;

				if (qcow2_get_l2_entry(s, vc + k, &ne, &nbm) < 0 || can_overwrite(s, ne, nbm, 0, nn))
					break;
				k++;
				wn += nn;
			}
			ret = write_alloc_run(bs, vc, k, voff, wn, iov, cnt, pos, q, submitted);
			pos += wn;
		}
	}
	return ret;
}

int qcow2_rw_pwritev(struct block_dev *bs, uint64_t off, const struct iovec *iov, int iovcnt,
		     block_done_fn done, void *opaque)
{
	return qreq_submit(bs, off, iov, iovcnt, done, opaque, do_write);
}

/* --- discard, write-zeroes */

static int write_zero_bytes(struct block_dev *bs, uint64_t off, uint64_t len)
{
	uint8_t *z = data_buf(bs->priv, len, 1);
	struct iovec iov = { .iov_base = z, .iov_len = len };
	int sub = 0, ret;

	if (!z)
		return -ENOMEM;
	ret = do_write(bs, off, &iov, 1, len, NULL, &sub);
	free(z);
	return ret;
}

/* zero: the clusters must read as zeroes afterwards; else (discard) they may
 * read as anything, and v2 images just drop them. */
static int zero_clusters(struct block_dev *bs, uint64_t off, uint64_t len, int zero)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, pos = off, end = off + len;
	int ret = 0;

	while (pos < end && ret == 0) {
		uint64_t vc = pos / cs, ce = (vc + 1) * cs;
		uint64_t n = (ce < end ? ce : end) - pos;
		int whole = pos % cs == 0 && (n == cs || pos + n == s->size);

		if (whole && !zero) {
			uint64_t e, bm;

			/* As QEMU: nothing to drop when the cluster has no data of
			 * its own and no backing file shows through. */
			ret = qcow2_get_l2_entry(s, vc, &e, &bm);
			if (ret < 0)
				break;
			if (!bs->backing && !(e & QCOW2_OFLAG_COMPRESSED) && !qcow2_has_host(s, e) &&
			    (!s->extl2 || !(bm & 0xffffffffull))) {
				pos += n;
				continue;
			}
		}
		if (!whole) {
			if (zero)
				ret = write_zero_bytes(bs, pos, n);
		} else if (s->extl2) {
			ret = qcow2_set_l2_entry(s, vc, 0, 0xffffffffull << 32);
		} else if (s->version >= 3) {
			ret = qcow2_set_l2_entry(s, vc, QCOW2_OFLAG_ZERO, 0);
		} else if (!bs->backing) {
			ret = qcow2_set_l2_entry(s, vc, 0, 0);
		} else if (zero) {
			ret = write_zero_bytes(bs, pos, n);
		} else {
			ret = qcow2_set_l2_entry(s, vc, 0, 0);
		}
		pos += n;
	}
	return ret;
}

int qcow2_rw_discard(struct block_dev *bs, uint64_t off, uint64_t len, block_done_fn done, void *opaque)
{
	struct qcow2_state *s = bs->priv;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = zero_clusters(bs, off, len, 0);
	pthread_mutex_unlock(&s->lock);
	return block_engine_complete(bs->engine, done, opaque, ret);
}

int qcow2_rw_write_zeroes(struct block_dev *bs, uint64_t off, uint64_t len, int unmap,
			  block_done_fn done, void *opaque)
{
	struct qcow2_state *s = bs->priv;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = zero_clusters(bs, off, len, 1);
	pthread_mutex_unlock(&s->lock);
	return block_engine_complete(bs->engine, done, opaque, ret);
}

/* --- status, resize */

int qcow2_rw_block_status(struct block_dev *bs, uint64_t off, uint64_t len,
			  uint64_t *pnum, uint64_t *host_off, int *flags)
{
	struct qcow2_state *s = bs->priv;
	struct qmap m;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = map_range(s, off, len, &m);
	pthread_mutex_unlock(&s->lock);
	if (ret < 0)
		return ret;
	*pnum = m.n;
	*host_off = 0;
	switch (m.kind) {
	case QCOW2_C_NORMAL:
		*flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
		*host_off = m.host;
		break;
	case QCOW2_C_ZERO:
		*flags = BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED;
		break;
	case QCOW2_C_COMPRESSED:
		*flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_COMPRESSED;
		break;
	default:
		/* Unallocated: the backing file decides; past its end, zeroes. */
		if (!bs->backing || off >= bs->backing->size)
			*flags = BLOCK_STATUS_ZERO;
		else {
			*flags = 0;
			if (bs->backing->size - off < *pnum)
				*pnum = bs->backing->size - off;
		}
	}
	return 0;
}
