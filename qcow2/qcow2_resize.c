/* Resizing a QCOW2 image (qcow2.txt "Header" size and l1_size, "Cluster
 * mapping", "Host cluster management"): growing the L1 table into fresh
 * clusters, and shrinking as QEMU's qcow2_co_truncate: the clusters past the
 * new end are dropped, L1 entries past it cleared and their L2 tables freed,
 * the file cut after the last referenced cluster, then the size written.
 * Ordering keeps a crash at any point consistent (leaks at worst). */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Drops the references of guest clusters [first, end) and of the L2 tables
 * past keep_l1 entries. */
static int shrink_drop(struct qcow2_state *s, uint64_t first, uint64_t end, uint64_t keep_l1)
{
	uint64_t cs = s->cluster_size;
	int ret = 0;

	for (uint64_t vc = first; vc < end && ret == 0; vc++) {
		uint64_t l1i = vc / s->l2_entries, e, bm;

		/* No table, or one shared with a snapshot that goes as a whole:
		 * its entries keep their references through the snapshot. */
		if (!(s->l1[l1i] & QCOW2_L1_OFFSET_MASK) ||
		    (l1i >= keep_l1 && !(s->l1[l1i] & QCOW2_OFLAG_COPIED))) {
			vc = (l1i + 1) * s->l2_entries - 1;
			continue;
		}
		ret = qcow2_get_l2_entry(s, vc, &e, &bm);
		if (ret == 0 && (e || bm))
			ret = qcow2_set_l2_entry(s, vc, 0, 0);
	}
	/* Order: the cleared L2 entries on disk, then the data clusters freed. */
	if (ret == 0)
		ret = qcow2_flush_all(s);
	for (uint64_t i = keep_l1; i < s->l1_size && ret == 0; i++) {
		uint64_t l2 = s->l1[i] & QCOW2_L1_OFFSET_MASK;

		if (!l2)
			continue;
		s->l1[i] = 0;
		ret = qcow2_write_l1_entry(s, (unsigned)i);
		qcow2_cache_drop(&s->l2_cache, l2);
		if (ret == 0 && l2 % cs == 0 && l2 < s->file_end)
			ret = qcow2_free_deferred(s, l2, cs);
	}
	/* The L1 entries on disk before their tables are freed. */
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret == 0)
		ret = qcow2_flush_all(s);
	return ret;
}

/* Frees the refcount blocks that describe no cluster but themselves (as
 * QEMU's qcow2_shrink_reftable), so the file can be cut below them. */
static int shrink_reftable(struct qcow2_state *s)
{
	uint64_t cs = s->cluster_size;
	int ret = 0;

	for (uint64_t t = s->reftable_entries; t-- > 0 && ret == 0;) {
		uint64_t off = s->reftable[t], self = (uint64_t)-1;
		uint8_t *rb, b[8] = { 0 };
		unsigned i;

		if (!off)
			continue;
		if (off / cs / s->refblock_entries == t)
			self = off / cs % s->refblock_entries;
		ret = qcow2_cache_get(s, &s->rb_cache, off, 0, &rb);
		if (ret < 0)
			break;
		for (i = 0; i < s->refblock_entries; i++)
			if (qcow2_rb_get(s, rb, i) != (i == self ? 1u : 0u))
				break;
		if (i < s->refblock_entries)
			continue;
		/* The table entry cleared on disk before the block is reused. */
		ret = qcow2_pwrite(s->fd, b, 8, s->reftable_offset + t * 8);
		if (ret == 0)
			ret = qcow2_sync(s);
		if (ret < 0)
			break;
		s->reftable[t] = 0;
		qcow2_cache_drop(&s->rb_cache, off);
		if (self == (uint64_t)-1)
			ret = qcow2_update_refcount(s, off / cs, -1);
		else if (off / cs < s->free_hint)
			s->free_hint = off / cs;
	}
	if (ret == 0)
		ret = qcow2_flush_all(s);
	return ret;
}

/* Cuts the image file after its last cluster with a reference. */
static int shrink_file(struct qcow2_state *s)
{
	uint64_t cs = s->cluster_size, c = s->file_end / cs, rc = 0;
	int ret;

	while (c > 1) {
		ret = qcow2_get_refcount(s, c - 1, &rc);
		if (ret < 0)
			return ret;
		if (rc)
			break;
		c--;
	}
	if (c * cs >= s->file_end)
		return 0;
	if (ftruncate(s->fd, (off_t)(c * cs)) < 0)
		return -errno;
	s->file_end = c * cs;
	s->zero_end = 0;
	if (s->free_hint > c)
		s->free_hint = c;
	s->comp_next = 0;
	return 0;
}

static int shrink(struct qcow2_state *s, uint64_t new_size)
{
	uint64_t cs = s->cluster_size, cov = cs * s->l2_entries;
	int ret;

	if (s->nb_snapshots && s->version < 3)
		return -ENOTSUP;   /* as QEMU: "Can't resize a v2 image which has snapshots" */
	ret = shrink_drop(s, (new_size + cs - 1) / cs, (s->size + cs - 1) / cs, (new_size + cov - 1) / cov);
	if (ret == 0)
		ret = shrink_reftable(s);
	if (ret == 0 && s->data_fd == s->fd)
		ret = shrink_file(s);
	return ret;
}

int qcow2_rw_truncate(struct block_dev *bs, uint64_t new_size)
{
	struct qcow2_state *s = bs->priv;
	uint64_t cs = s->cluster_size, cov = cs * s->l2_entries, need;
	uint8_t b[8];
	int ret = 0;

	if (new_size % 512 || new_size > (1ull << 62))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (new_size < s->size) {
		ret = shrink(s, new_size);
		if (ret < 0)
			goto out;
	}
	need = (new_size + cov - 1) / cov;
	if (need > s->l1_size) {
		uint64_t bytes = need * 8, ncl = (bytes + cs - 1) / cs, old = s->l1_offset;
		uint64_t oldcl = ((uint64_t)s->l1_size * 8 + cs - 1) / cs;
		uint64_t *nl1 = NULL;
		uint8_t *raw = NULL, hb[12];
		int64_t c;

		if (bytes > QCOW2_MAX_L1_BYTES) {
			ret = -EFBIG;
			goto out;
		}
		nl1 = calloc(ncl * cs / 8, 8);
		raw = calloc(ncl, cs);
		if (!nl1 || !raw) {
			free(nl1), free(raw);
			ret = -ENOMEM;
			goto out;
		}
		c = qcow2_alloc_clusters(s, ncl);
		if (c < 0) {
			free(nl1), free(raw);
			ret = (int)c;
			goto out;
		}
		memcpy(nl1, s->l1, (size_t)s->l1_size * 8);
		for (uint64_t i = 0; i < need; i++)
			qcow2_put_be64(raw + i * 8, nl1[i]);
		ret = qcow2_cache_write_all(s, &s->rb_cache);
		if (ret == 0)
			ret = qcow2_pwrite(s->fd, raw, ncl * cs, (uint64_t)c);
		if (ret == 0)
			ret = qcow2_sync(s);
		qcow2_put_be32(hb, (uint32_t)need);
		qcow2_put_be64(hb + 4, (uint64_t)c);
		if (ret == 0)
			ret = qcow2_pwrite(s->fd, hb, 12, 36);
		if (ret == 0)
			ret = qcow2_sync(s);
		free(raw);
		if (ret < 0) {
			free(nl1);
			goto out;
		}
		free(s->l1);
		s->l1 = nl1;
		s->l1_offset = (uint64_t)c;
		s->l1_size = (uint32_t)need;
		if (old && oldcl)
			ret = qcow2_free_deferred(s, old, oldcl * cs);
		if (ret < 0)
			goto out;
	}
	qcow2_put_be64(b, new_size);
	ret = qcow2_pwrite(s->fd, b, 8, 24);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret == 0) {
		s->size = new_size;
		bs->size = new_size;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}
