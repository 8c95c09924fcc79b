/* QCOW2 L2 entries (qcow2.txt "Cluster mapping", "Standard Cluster
 * Descriptor", "Compressed Clusters Descriptor", "Extended L2 Entries"):
 * reading and validating an entry through the L1 table and the L2 cache,
 * and for writes: the L2 table of a guest cluster made writable (allocated,
 * or copied when shared with a snapshot), entries set, and the host
 * clusters an entry held released. Guest I/O on top: qcow2_cluster.c. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- L2 entries */

void qcow2_compressed_range(struct qcow2_state *s, uint64_t e, uint64_t *off, uint64_t *len)
{
	uint64_t coff = e & s->coffset_mask;
	uint64_t nb = ((e >> s->csize_shift) & s->csize_mask) + 1;

	*off = coff & ~511ull;
	*len = nb * 512;
}

int qcow2_validate_l2_entry(struct qcow2_state *s, uint64_t e)
{
	uint64_t cs = s->cluster_size;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t o, l;

		if (s->data_fd != s->fd)
			return QCOW2_E_COMPRESSED;
		qcow2_compressed_range(s, e, &o, &l);
		if (o < cs || o >= s->file_end || l > s->file_end - o)
			return QCOW2_E_COMPRESSED;
		return 0;
	}
	{
		uint64_t host = e & QCOW2_L2_OFFSET_MASK;

		if (!host)
			return 0;
		if (host % cs)
			return QCOW2_E_L2_ENTRY;
		if (s->data_fd == s->fd && (host >= s->file_end || qcow2_overlaps_fixed(s, host, cs)))
			return QCOW2_E_L2_ENTRY;
	}
	return 0;
}

int qcow2_get_l2_entry(struct qcow2_state *s, uint64_t vc, uint64_t *e, uint64_t *bm)
{
	uint64_t l1i = vc / s->l2_entries, l2off;
	unsigned idx = (unsigned)(vc % s->l2_entries);
	uint8_t *t;
	int ret;

	*e = 0;
	*bm = 0;
	if (l1i >= s->l1_size)
		return 0;
	l2off = s->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	if (!l2off)
		return 0;
	if (l2off % s->cluster_size || l2off >= s->file_end)
		return QCOW2_E_L1_ENTRY;
	ret = qcow2_cache_get(s, &s->l2_cache, l2off, 0, &t);
	if (ret < 0)
		return ret;
	*e = qcow2_be64(t + (size_t)idx * s->l2_entry_bytes);
	if (s->extl2)
		*bm = qcow2_be64(t + (size_t)idx * 16 + 8);
	return qcow2_validate_l2_entry(s, *e);
}

/* --- L2 tables for writing */

int qcow2_release_entry(struct qcow2_state *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t o, l;

		qcow2_compressed_range(s, e, &o, &l);
		return qcow2_free_deferred(s, o, l);
	}
	if ((e & QCOW2_L2_OFFSET_MASK) && s->data_fd == s->fd)
		return qcow2_free_deferred(s, e & QCOW2_L2_OFFSET_MASK, s->cluster_size);
	return 0;
}

int64_t qcow2_l2_for_write(struct qcow2_state *s, uint64_t vc)
{
	uint64_t l1i = vc / s->l2_entries, cs = s->cluster_size, old, rc = 0;
	int64_t c;
	uint8_t *t = NULL;
	int ret;

	if (l1i >= s->l1_size)
		return -EINVAL;
	old = s->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	if (old && (s->l1[l1i] & QCOW2_OFLAG_COPIED))
		return (int64_t)old;
	if (old) {
		ret = qcow2_get_refcount(s, old / cs, &rc);
		if (ret < 0)
			return ret;
		if (rc == 1) {   /* only the flag was missing */
			s->l1[l1i] = old | QCOW2_OFLAG_COPIED;
			ret = qcow2_write_l1_entry(s, (unsigned)l1i);
			return ret < 0 ? ret : (int64_t)old;
		}
	}
	c = qcow2_alloc_clusters(s, 1);
	if (c < 0)
		return c;
	t = calloc(1, cs);
	if (!t)
		return -ENOMEM;
	if (old) {
		uint8_t *ot;

		/* Shared with a snapshot: copy it. Entries keep their flags:
		 * the clusters stay referenced by both tables. */
		ret = qcow2_cache_get(s, &s->l2_cache, old, 0, &ot);
		if (ret < 0)
			goto out;
		memcpy(t, ot, cs);
	}
	/* Order: refcount of the new table, the table, then the L1 entry. */
	ret = qcow2_cache_write_all(s, &s->rb_cache);
	if (ret == 0)
		ret = qcow2_pwrite(s->fd, t, cs, (uint64_t)c);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret < 0)
		goto out;
	qcow2_cache_drop(&s->l2_cache, (uint64_t)c);
	s->l1[l1i] = (uint64_t)c | QCOW2_OFLAG_COPIED;
	ret = qcow2_write_l1_entry(s, (unsigned)l1i);
	if (ret == 0 && old)
		ret = qcow2_free_deferred(s, old, cs);
out:
	free(t);
	return ret < 0 ? ret : c;
}

int qcow2_set_l2_entry(struct qcow2_state *s, uint64_t vc, uint64_t e, uint64_t bm)
{
	int64_t l2 = qcow2_l2_for_write(s, vc);
	unsigned idx = (unsigned)(vc % s->l2_entries);
	uint64_t old;
	uint8_t *t;
	int ret;

	if (l2 < 0)
		return (int)l2;
	ret = qcow2_cache_get(s, &s->l2_cache, (uint64_t)l2, 0, &t);
	if (ret < 0)
		return ret;
	old = qcow2_be64(t + (size_t)idx * s->l2_entry_bytes);
	qcow2_put_be64(t + (size_t)idx * s->l2_entry_bytes, e);
	if (s->extl2)
		qcow2_put_be64(t + (size_t)idx * 16 + 8, bm);
	qcow2_cache_mark_dirty(&s->l2_cache, t);
	if ((old & QCOW2_OFLAG_COMPRESSED) || ((old & QCOW2_L2_OFFSET_MASK) != (e & QCOW2_L2_OFFSET_MASK)))
		if (qcow2_validate_l2_entry(s, old) == 0)
			return qcow2_release_entry(s, old);
	return 0;
}
