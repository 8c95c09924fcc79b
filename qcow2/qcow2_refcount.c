/* QCOW2 refcounts (qcow2.txt "Host cluster management"): the refcount table
 * and blocks of any refcount_bits 1..64, cluster allocation (first fit from a
 * hint), refcount block creation and refcount table growth, and frees that
 * are deferred until the L2 tables no longer referencing them are on disk. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t qcow2_refcount_max(struct qcow2_state *s)
{
	unsigned bits = 1u << s->refcount_order;

	return bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
}

/* Sub-byte widths pack entries from the least significant bit (as QEMU). */
uint64_t qcow2_rb_get(struct qcow2_state *s, const uint8_t *rb, unsigned i)
{
	switch (s->refcount_order) {
	case 0: return (rb[i / 8] >> (i % 8)) & 1;
	case 1: return (rb[i / 4] >> (2 * (i % 4))) & 3;
	case 2: return (rb[i / 2] >> (4 * (i % 2))) & 15;
	case 3: return rb[i];
	case 4: return qcow2_be16(rb + 2 * (size_t)i);
	case 5: return qcow2_be32(rb + 4 * (size_t)i);
	default: return qcow2_be64(rb + 8 * (size_t)i);
	}
}

void qcow2_rb_set(struct qcow2_state *s, uint8_t *rb, unsigned i, uint64_t v)
{
	unsigned sh;

	switch (s->refcount_order) {
	case 0: sh = i % 8; rb[i / 8] = (uint8_t)((rb[i / 8] & ~(1u << sh)) | (v & 1) << sh); break;
	case 1: sh = 2 * (i % 4); rb[i / 4] = (uint8_t)((rb[i / 4] & ~(3u << sh)) | (v & 3) << sh); break;
	case 2: sh = 4 * (i % 2); rb[i / 2] = (uint8_t)((rb[i / 2] & ~(15u << sh)) | (v & 15) << sh); break;
	case 3: rb[i] = (uint8_t)v; break;
	case 4: qcow2_put_be16(rb + 2 * (size_t)i, (uint16_t)v); break;
	case 5: qcow2_put_be32(rb + 4 * (size_t)i, (uint32_t)v); break;
	default: qcow2_put_be64(rb + 8 * (size_t)i, v); break;
	}
}

int qcow2_refcount_load(struct qcow2_state *s)
{
	uint64_t cs = s->cluster_size;
	size_t bytes = (size_t)s->reftable_clusters * cs;
	int ret;

	s->reftable_entries = bytes / 8;
	s->reftable_used = 0;
	s->reftable = malloc(bytes);
	if (!s->reftable)
		return -ENOMEM;
	ret = qcow2_pread(s->fd, s->reftable, bytes, s->reftable_offset);
	if (ret < 0)
		return ret;
	for (uint64_t i = 0; i < s->reftable_entries; i++) {
		uint64_t e = qcow2_be64(&s->reftable[i]);

		/* Bits 0-8 are reserved; anything else off-cluster is corrupt. */
		s->reftable[i] = e & ~511ull;
		if (s->reftable[i])
			s->reftable_used = i + 1;
		if (s->reftable[i] && (s->reftable[i] % cs || s->reftable[i] >= s->file_end + cs ||
				       qcow2_overlaps_fixed(s, s->reftable[i], cs)))
			return QCOW2_E_REFCOUNT;
	}
	return 0;
}

int qcow2_get_refcount(struct qcow2_state *s, uint64_t cluster, uint64_t *rc)
{
	uint64_t t = cluster / s->refblock_entries;
	uint8_t *rb;
	int ret;

	*rc = 0;
	if (t >= s->reftable_entries || !s->reftable[t])
		return 0;
	ret = qcow2_cache_get(s, &s->rb_cache, s->reftable[t], 0, &rb);
	if (ret < 0)
		return ret;
	*rc = qcow2_rb_get(s, rb, (unsigned)(cluster % s->refblock_entries));
	return 0;
}

static int64_t find_free(struct qcow2_state *s, uint64_t n);
static int ensure_refblock(struct qcow2_state *s, uint64_t t, int depth);

/* Grows the refcount table so that index t exists. The new table and the
 * refcount blocks describing it go at the end of the file. */
static int grow_reftable(struct qcow2_state *s, uint64_t t)
{
	uint64_t cs = s->cluster_size, rbe = s->refblock_entries;
	uint64_t e = s->file_end / cs, n = s->reftable_entries * 2, tc = 0, nb = 0;
	uint64_t *nt = NULL;
	uint8_t *blk = NULL, hb[12];
	uint64_t old_off = s->reftable_offset, old_clusters = s->reftable_clusters;
	int ret;

	if (n < t + 1)
		n = t + 1;
	for (int iter = 0; iter < 16; iter++) {
		uint64_t end, need = 0;

		tc = (n * 8 + cs - 1) / cs;
		end = e + tc + nb;   /* clusters [e, end) are new metadata */
		if ((end - 1) / rbe + 1 > n)
			n = (end - 1) / rbe + 1;
		tc = (n * 8 + cs - 1) / cs;
		for (uint64_t i = e / rbe; i <= (e + tc + nb - 1) / rbe; i++)
			if (i >= s->reftable_entries || !s->reftable[i])
				need++;
		if (need == nb && (e + tc + nb - 1) / rbe < n)
			break;
		nb = need;
	}
	if (tc * cs > QCOW2_MAX_REFTABLE_BYTES)
		return -EFBIG;
	nt = calloc(tc * cs / 8, 8);
	blk = calloc(1, cs);
	if (!nt || !blk) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(nt, s->reftable, s->reftable_entries * 8);
	/* New refcount blocks at e+tc.., each counting the new clusters in its range. */
	{
		uint64_t b = e + tc;

		for (uint64_t i = e / rbe; i <= (e + tc + nb - 1) / rbe; i++)
			if (!nt[i])
				nt[i] = (b++) * cs;
		for (uint64_t i = e / rbe; i <= (e + tc + nb - 1) / rbe; i++) {
			int fresh = i >= s->reftable_entries || !s->reftable[i];

			if (!fresh)
				continue;
			memset(blk, 0, cs);
			for (uint64_t c = e; c < e + tc + nb; c++)
				if (c / rbe == i)
					qcow2_rb_set(s, blk, (unsigned)(c % rbe), 1);
			ret = qcow2_pwrite(s->fd, blk, cs, nt[i]);
			if (ret < 0)
				goto out;
		}
		/* Clusters counted by blocks that already exist. */
		for (uint64_t c = e; c < e + tc + nb; c++) {
			uint64_t i = c / rbe;

			if (i < s->reftable_entries && s->reftable[i]) {
				ret = qcow2_update_refcount(s, c, 1);
				if (ret < 0)
					goto out;
			}
		}
	}
	ret = qcow2_cache_write_all(s, &s->rb_cache);
	if (ret < 0)
		goto out;
	/* Table in disk order. */
	{
		uint8_t *raw = (uint8_t *)nt;

		for (uint64_t i = 0; i < tc * cs / 8; i++)
			qcow2_put_be64(raw + i * 8, nt[i]);
		ret = qcow2_pwrite(s->fd, raw, tc * cs, e * cs);
		for (uint64_t i = 0; i < tc * cs / 8; i++)
			nt[i] = qcow2_be64(raw + i * 8);
		if (ret < 0)
			goto out;
	}
	ret = qcow2_sync(s);
	if (ret < 0)
		goto out;
	qcow2_put_be64(hb, e * cs);
	qcow2_put_be32(hb + 8, (uint32_t)tc);
	ret = qcow2_pwrite(s->fd, hb, 12, 48);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret < 0)
		goto out;
	free(s->reftable);
	s->reftable = nt;
	nt = NULL;
	s->reftable_entries = tc * cs / 8;
	for (uint64_t i = s->reftable_entries; i > s->reftable_used; i--)
		if (s->reftable[i - 1]) {
			s->reftable_used = i;
			break;
		}
	s->reftable_offset = e * cs;
	s->reftable_clusters = (uint32_t)tc;
	s->file_end = (e + tc + nb) * cs;
	for (uint64_t c = 0; c < old_clusters; c++) {
		ret = qcow2_update_refcount(s, old_off / cs + c, -1);
		if (ret < 0)
			goto out;
	}
	ret = 0;
out:
	free(nt);
	free(blk);
	return ret;
}

/* Makes refcount block t exist (allocating and self-describing it). */
static int ensure_refblock(struct qcow2_state *s, uint64_t t, int depth)
{
	uint64_t cs = s->cluster_size;
	int64_t c;
	uint8_t *rb, b[8];
	int ret;

	if (depth > 8)
		return QCOW2_E_REFCOUNT;
	if (t >= s->reftable_entries) {
		ret = grow_reftable(s, t);
		if (ret < 0)
			return ret;
	}
	if (s->reftable[t])
		return 0;
	c = find_free(s, 1);
	if (c < 0)
		return (int)c;
	if (t >= s->reftable_entries)   /* find_free may not grow it */
		return QCOW2_E_REFCOUNT;
	ret = qcow2_cache_get(s, &s->rb_cache, (uint64_t)c * cs, 1, &rb);
	if (ret < 0)
		return ret;
	if ((uint64_t)c / s->refblock_entries == t)
		qcow2_rb_set(s, rb, (unsigned)((uint64_t)c % s->refblock_entries), 1);
	/* The block is on disk before the table points to it. */
	ret = qcow2_pwrite(s->fd, rb, cs, (uint64_t)c * cs);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret < 0) {
		qcow2_cache_drop(&s->rb_cache, (uint64_t)c * cs);
		return ret;
	}
	if ((uint64_t)(c + 1) * cs > s->file_end)
		s->file_end = (uint64_t)(c + 1) * cs;
	/* In memory first: the overlap checks keep c from being handed out
	 * again while its own refcount is set below. */
	s->reftable[t] = (uint64_t)c * cs;
	if (t >= s->reftable_used)
		s->reftable_used = t + 1;
	if ((uint64_t)c / s->refblock_entries != t) {
		/* A block outside its own range: the block that counts c must
		 * say 1 on disk before the table on disk points to c, or a crash
		 * in between leaves a referenced cluster with refcount 0. */
		uint64_t tt = (uint64_t)c / s->refblock_entries;

		ret = ensure_refblock(s, tt, depth + 1);
		if (ret == 0)
			ret = qcow2_update_refcount(s, (uint64_t)c, 1);
		if (ret == 0)
			ret = qcow2_cache_write_all(s, &s->rb_cache);
		if (ret == 0)
			ret = qcow2_sync(s);
		if (ret < 0) {
			s->reftable[t] = 0;
			qcow2_cache_drop(&s->rb_cache, (uint64_t)c * cs);
			return ret;
		}
	}
	qcow2_put_be64(b, s->reftable[t]);
	return qcow2_pwrite(s->fd, b, 8, s->reftable_offset + t * 8);
}

int qcow2_update_refcount(struct qcow2_state *s, uint64_t cluster, int64_t delta)
{
	uint64_t t = cluster / s->refblock_entries, v;
	uint8_t *rb;
	int ret;

	if (t >= s->reftable_entries || !s->reftable[t]) {
		if (delta < 0)
			return QCOW2_E_REFCOUNT;
		ret = ensure_refblock(s, t, 0);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_cache_get(s, &s->rb_cache, s->reftable[t], 0, &rb);
	if (ret < 0)
		return ret;
	v = qcow2_rb_get(s, rb, (unsigned)(cluster % s->refblock_entries));
	if ((delta < 0 && v < (uint64_t)-delta) || (delta > 0 && qcow2_refcount_max(s) - v < (uint64_t)delta))
		return QCOW2_E_REFCOUNT;
	v += (uint64_t)delta;
	qcow2_rb_set(s, rb, (unsigned)(cluster % s->refblock_entries), v);
	qcow2_cache_mark_dirty(&s->rb_cache, rb);
	if (v == 0 && cluster < s->free_hint)
		s->free_hint = cluster;
	return 0;
}

static int64_t find_free(struct qcow2_state *s, uint64_t n)
{
	uint64_t cs = s->cluster_size, run = 0, c = s->free_hint ? s->free_hint : 1;
	uint64_t end = s->file_end / cs;

	for (;; c++) {
		uint64_t rc = 0, t = c / s->refblock_entries;
		int has = t < s->reftable_entries && s->reftable[t];
		int ret;

		if (c > (1ull << 55) / cs)
			return -EFBIG;
		/* Clusters with no refcount block are free only past the end of
		 * the file; below it they are metadata being set up or a corrupt
		 * image: skip them. */
		if (c < end && !has) {
			run = 0;
			continue;
		}
		if (has) {
			ret = qcow2_get_refcount(s, c, &rc);
			if (ret < 0)
				return ret;
		}
		if (rc == 0 && qcow2_overlaps_metadata(s, c * cs, cs))
			rc = 1;
		if (rc) {
			run = 0;
			continue;
		}
		if (++run == n)
			return (int64_t)(c - n + 1);
	}
}

int64_t qcow2_alloc_clusters(struct qcow2_state *s, uint64_t n)
{
	for (int tries = 0; tries < 16; tries++) {
		int64_t c = find_free(s, n);
		int moved = 0, ret;

		if (c < 0)
			return c;
		/* Make sure the blocks counting the run exist; creating one may
		 * take a cluster of the run, so search again then. */
		for (uint64_t t = (uint64_t)c / s->refblock_entries;
		     t <= ((uint64_t)c + n - 1) / s->refblock_entries; t++) {
			if (t < s->reftable_entries && s->reftable[t])
				continue;
			ret = ensure_refblock(s, t, 0);
			if (ret < 0)
				return ret;
			moved = 1;
		}
		if (moved)
			continue;
		for (uint64_t i = 0; i < n; i++) {
			ret = qcow2_update_refcount(s, (uint64_t)c + i, 1);
			if (ret < 0)
				return ret;
		}
		s->free_hint = (uint64_t)c + n;
		if (((uint64_t)c + n) * s->cluster_size > s->file_end)
			s->file_end = ((uint64_t)c + n) * s->cluster_size;
		return c * (int64_t)s->cluster_size;
	}
	return QCOW2_E_REFCOUNT;
}

int qcow2_free_deferred(struct qcow2_state *s, uint64_t off, uint64_t len)
{
	uint64_t cs = s->cluster_size, next = s->rd_epoch + 1;

	if (len == 0)
		return 0;
	for (uint64_t c = off / cs; c <= (off + len - 1) / cs; c++) {
		if (s->ndeferred == s->deferred_cap) {
			size_t nc = s->deferred_cap ? s->deferred_cap * 2 : 64;
			struct qcow2_deferred *d = realloc(s->deferred, nc * sizeof(*d));

			if (!d)
				return -ENOMEM;
			s->deferred = d;
			s->deferred_cap = nc;
		}
		s->deferred[s->ndeferred].cluster = c;
		s->deferred[s->ndeferred++].epoch = s->rd_epoch;
	}
	/* Reads submitted from now on no longer see these clusters: they count
	 * in a new epoch, unless its slot's epoch still has reads in flight. */
	if (!__atomic_load_n(&s->rd_cnt[next % QCOW2_READ_EPOCHS], __ATOMIC_ACQUIRE))
		s->rd_epoch = next;
	/* Bound the list: a metadata flush applies it (what reads or writes in
	 * flight still hold stays listed: not again for each free). */
	if (s->ndeferred > s->deferred_kept + 65536)
		return qcow2_flush_all(s);
	return 0;
}

/* Frees listed in an epoch below this one have no read in flight left:
 * the oldest epoch that may still have reads, or rd_epoch + 1. */
static uint64_t reads_drained_below(struct qcow2_state *s)
{
	uint64_t e = s->rd_epoch >= QCOW2_READ_EPOCHS ? s->rd_epoch - QCOW2_READ_EPOCHS + 1 : 0;

	for (; e <= s->rd_epoch; e++)
		if (__atomic_load_n(&s->rd_cnt[e % QCOW2_READ_EPOCHS], __ATOMIC_ACQUIRE))
			return e;
	return e;
}

int qcow2_apply_deferred(struct qcow2_state *s)
{
	uint64_t drained = reads_drained_below(s);
	size_t keep = 0, i;
	int ret = 0;

	for (i = 0; i < s->ndeferred && ret == 0; i++) {
		uint64_t c = s->deferred[i].cluster;

		/* A read of c still in flight would return the next owner's
		 * bytes, an overwrite would land in them: c stays referenced
		 * until a flush after they completed. */
		if (s->deferred[i].epoch >= drained || qcow2_wio_busy(s, c * s->cluster_size, s->cluster_size)) {
			s->deferred[keep++] = s->deferred[i];
			continue;
		}
		ret = qcow2_update_refcount(s, c, -1);
		if (ret == 0) {
			uint64_t rc;

			/* A freed L2 table or refcount block must not be served from the cache. */
			if (qcow2_get_refcount(s, c, &rc) == 0 && rc == 0) {
				qcow2_cache_drop(&s->l2_cache, c * s->cluster_size);
				if (s->comp_next && s->comp_next / s->cluster_size == c)
					s->comp_next = 0;
			}
		}
	}
	/* On an error, the frees not attempted stay listed too. */
	memmove(s->deferred + keep, s->deferred + i, (s->ndeferred - i) * sizeof(*s->deferred));
	s->ndeferred = keep + (s->ndeferred - i);
	s->deferred_kept = keep;
	return ret;
}
