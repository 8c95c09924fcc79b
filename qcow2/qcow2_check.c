/* qcow2_check: qemu-img check semantics (qcow2.txt "Host cluster
 * management"): rebuild every cluster's reference count from the header,
 * L1/L2 tables (active and snapshots), snapshot table and refcount
 * structures; compare with the stored refcounts (more = leak, fewer =
 * corruption) and the COPIED flags; optionally rewrite the refcounts. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ck {
	struct qcow2_state *s;
	struct qcow2_check_result *r;
	uint32_t *ref;
	uint64_t n;          /* clusters in ref */
};

static void inc(struct ck *k, uint64_t off, uint64_t len)
{
	uint64_t cs = k->s->cluster_size;

	if (!len)
		return;
	for (uint64_t c = off / cs; c <= (off + len - 1) / cs; c++) {
		if (c >= k->n) {
			k->r->corruptions++;   /* reference beyond the end of the file */
			continue;
		}
		if (k->ref[c] < UINT32_MAX)
			k->ref[c]++;
	}
}

/* Counts the references of one L1 table. active: also the guest statistics. */
static int walk_l1(struct ck *k, const uint64_t *l1, uint32_t l1_size, int active)
{
	struct qcow2_state *s = k->s;
	uint64_t cs = s->cluster_size, prev_host = 0;
	uint8_t *t = malloc(cs);

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2 = l1[i] & QCOW2_L1_OFFSET_MASK;

		if (!l2)
			continue;
		if (l2 % cs || l2 >= k->n * cs) {
			k->r->corruptions++;
			continue;
		}
		inc(k, l2, cs);
		if (qcow2_pread(s->fd, t, cs, l2) < 0) {
			k->r->check_errors++;
			continue;
		}
		for (unsigned j = 0; j < s->l2_entries; j++) {
			uint64_t e = qcow2_be64(t + (size_t)j * s->l2_entry_bytes), host;

			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t o, l;

				qcow2_compressed_range(s, e, &o, &l);
				if (e & QCOW2_OFLAG_COPIED)
					k->r->corruptions++;
				inc(k, o, l);
				if (active) {
					k->r->allocated_clusters++;
					k->r->compressed_clusters++;
				}
				continue;
			}
			host = e & QCOW2_L2_OFFSET_MASK;
			if (!qcow2_has_host(s, e))
				continue;
			if (host % cs) {
				k->r->corruptions++;
				continue;
			}
			if (s->data_fd == s->fd)
				inc(k, host, cs);
			if (active) {
				k->r->allocated_clusters++;
				if (prev_host && host != prev_host + cs)
					k->r->fragmented_clusters++;
				prev_host = host;
			}
		}
	}
	free(t);
	return 0;
}

/* COPIED flags of the active tables against the refcounts. */
static int check_copied(struct ck *k, int fix)
{
	struct qcow2_state *s = k->s;
	uint64_t cs = s->cluster_size;
	int ret = 0;

	for (uint32_t i = 0; i < s->l1_size && ret == 0; i++) {
		uint64_t l2 = s->l1[i] & QCOW2_L1_OFFSET_MASK, rc;
		uint8_t *t;
		int want;

		if (!l2 || l2 % cs || l2 >= k->n * cs)
			continue;
		ret = qcow2_get_refcount(s, l2 / cs, &rc);
		if (ret < 0)
			break;
		want = rc == 1;
		if (want != !!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
			k->r->corruptions++;
			if (fix) {
				s->l1[i] = l2 | (want ? QCOW2_OFLAG_COPIED : 0);
				ret = qcow2_write_l1_entry(s, i);
				if (ret == 0)
					k->r->corruptions_fixed++;
			}
		}
		if (s->data_fd != s->fd)
			continue;
		for (unsigned j = 0; j < s->l2_entries && ret == 0; j++) {
			uint64_t e, host;

			ret = qcow2_cache_get(s, &s->l2_cache, l2, 0, &t);
			if (ret < 0)
				break;
			e = qcow2_be64(t + (size_t)j * s->l2_entry_bytes);
			host = e & QCOW2_L2_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !host || host % cs || host >= k->n * cs)
				continue;
			ret = qcow2_get_refcount(s, host / cs, &rc);
			if (ret < 0)
				break;
			want = rc == 1;
			if (want != !!(e & QCOW2_OFLAG_COPIED)) {
				k->r->corruptions++;
				if (fix) {
					e = want ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
					qcow2_put_be64(t + (size_t)j * s->l2_entry_bytes, e);
					qcow2_cache_mark_dirty(&s->l2_cache, t);
					k->r->corruptions_fixed++;
				}
			}
		}
	}
	return ret;
}

int qcow2_check(struct block_dev *bs, int fix, struct qcow2_check_result *r)
{
	struct qcow2_state *s;
	struct ck k;
	uint64_t cs, fsize, last = 0;
	int ret = 0;

	if (!bs || !r || bs->drv != &block_driver_qcow2)
		return -EINVAL;
	s = bs->priv;
	if (fix && s->read_only)
		return -EROFS;
	memset(r, 0, sizeof(*r));
	cs = s->cluster_size;
	pthread_mutex_lock(&s->lock);
	if (!s->read_only) {
		ret = qcow2_flush_all(s);
		if (ret < 0)
			goto out_unlock;
	}
	fsize = s->file_end;
	k.s = s;
	k.r = r;
	k.n = fsize / cs;
	k.ref = calloc(k.n ? k.n : 1, sizeof(*k.ref));
	if (!k.ref) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	r->total_clusters = (s->size + cs - 1) / cs;
	inc(&k, 0, cs);
	inc(&k, s->l1_offset, (uint64_t)s->l1_size * 8);
	ret = walk_l1(&k, s->l1, s->l1_size, 1);
	for (uint32_t i = 0; i < s->nb_snapshots && ret == 0; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint64_t *l1 = calloc(sn->l1_size ? sn->l1_size : 1, 8);

		if (!l1) {
			ret = -ENOMEM;
			break;
		}
		inc(&k, sn->l1_offset, (uint64_t)sn->l1_size * 8);
		if (qcow2_pread(s->fd, l1, (size_t)sn->l1_size * 8, sn->l1_offset) < 0)
			r->check_errors++;
		for (uint32_t j = 0; j < sn->l1_size; j++)
			l1[j] = qcow2_be64(&l1[j]);
		ret = walk_l1(&k, l1, sn->l1_size, 0);
		free(l1);
	}
	if (s->nb_snapshots)
		inc(&k, s->snapshots_offset, s->snapshots_size);
	inc(&k, s->reftable_offset, (uint64_t)s->reftable_clusters * cs);
	for (uint64_t i = 0; i < s->reftable_entries; i++)
		if (s->reftable[i])
			inc(&k, s->reftable[i], cs);
	if (ret < 0)
		goto out;

	/* Stored against computed, over every cluster a refcount block covers. */
	for (uint64_t t = 0; t < s->reftable_entries && ret == 0; t++) {
		if (!s->reftable[t])
			continue;
		for (uint64_t c = t * s->refblock_entries; c < (t + 1) * s->refblock_entries; c++) {
			uint64_t rc, want = c < k.n ? k.ref[c] : 0;

			if (c >= k.n && c * cs >= fsize + (uint64_t)s->refblock_entries * cs)
				break;
			ret = qcow2_get_refcount(s, c, &rc);
			if (ret < 0)
				break;
			/* As QEMU: the end covers leaked clusters too. */
			if ((rc || want) && c + 1 > last)
				last = c + 1;
			if (rc == want)
				continue;
			if (rc > want) {
				r->leaks++;
				if (!(fix & QCOW2_FIX_LEAKS))
					continue;
			} else {
				r->corruptions++;
				if (!(fix & QCOW2_FIX_ERRORS))
					continue;
			}
			ret = qcow2_update_refcount(s, c, (int64_t)(want - rc));
			if (ret < 0)
				break;
			if (rc > want)
				r->leaks_fixed++;
			else
				r->corruptions_fixed++;
		}
	}
	/* Referenced clusters no refcount block covers. */
	for (uint64_t c = 0; c < k.n && ret == 0; c++) {
		uint64_t t = c / s->refblock_entries;

		if (k.ref[c] && (t >= s->reftable_entries || !s->reftable[t])) {
			r->corruptions++;
			if (fix & QCOW2_FIX_ERRORS) {
				ret = qcow2_update_refcount(s, c, k.ref[c]);
				if (ret == 0)
					r->corruptions_fixed++;
			}
		}
	}
	if (ret == 0)
		ret = check_copied(&k, fix & QCOW2_FIX_ERRORS);
	for (uint64_t c = last; c < k.n; c++)
		if (k.ref[c])
			last = c + 1;
	r->image_end_offset = last * cs;
	if (ret == 0 && fix)
		ret = qcow2_flush_all(s);
out:
	free(k.ref);
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return ret;
}
