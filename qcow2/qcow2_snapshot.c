/* QCOW2 internal snapshots (qcow2.txt "Snapshots", "Snapshot table"): the
 * table parsed with every field bounds-checked and kept (extra data
 * verbatim) for rewrite; create (L1 copy, refcounts +1, COPIED cleared),
 * apply (snapshot L1 becomes the active one), delete (refcounts -1, COPIED
 * restored where a cluster becomes unshared). */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAP_TABLE_MAX (64u << 20)

void qcow2_snapshots_free(struct qcow2_state *s)
{
	for (uint32_t i = 0; s->snaps && i < s->nb_snapshots; i++) {
		free(s->snaps[i].id);
		free(s->snaps[i].name);
		free(s->snaps[i].extra);
	}
	free(s->snaps);
	s->snaps = NULL;
}

int qcow2_snapshots_load(struct qcow2_state *s)
{
	uint64_t cs = s->cluster_size, off, end;
	uint8_t *buf = NULL;
	size_t p = 0, have;
	int ret = QCOW2_E_SNAPSHOT;

	s->snapshots_size = 0;
	if (!s->nb_snapshots)
		return 0;
	if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS || s->snapshots_offset % cs || s->snapshots_offset < cs ||
	    s->snapshots_offset >= s->file_end)
		return QCOW2_E_SNAPSHOT;
	off = s->snapshots_offset;
	end = s->file_end - off < SNAP_TABLE_MAX ? s->file_end - off : SNAP_TABLE_MAX;
	have = (size_t)end;
	buf = malloc(have);
	s->snaps = calloc(s->nb_snapshots, sizeof(*s->snaps));
	if (!buf || !s->snaps) {
		ret = -ENOMEM;
		goto out;
	}
	ret = qcow2_pread(s->fd, buf, have, off);
	if (ret < 0)
		goto out;
	ret = QCOW2_E_SNAPSHOT;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint16_t idl, nl;
		uint32_t extra;

		if (have - p < 40)
			goto out;
		sn->l1_offset = qcow2_be64(buf + p);
		sn->l1_size = qcow2_be32(buf + p + 8);
		idl = qcow2_be16(buf + p + 12);
		nl = qcow2_be16(buf + p + 14);
		sn->date_sec = qcow2_be32(buf + p + 16);
		sn->date_nsec = qcow2_be32(buf + p + 20);
		sn->vm_clock_nsec = qcow2_be64(buf + p + 24);
		sn->vm_state_size = qcow2_be32(buf + p + 32);
		extra = qcow2_be32(buf + p + 36);
		p += 40;
		if (extra > 1024 || have - p < (size_t)extra + idl + nl)
			goto out;
		sn->extra_size = extra;
		sn->extra = malloc(extra ? extra : 1);
		if (!sn->extra) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(sn->extra, buf + p, extra);
		if (extra >= 8)
			sn->vm_state_size = qcow2_be64(buf + p);
		sn->disk_size = extra >= 16 ? qcow2_be64(buf + p + 8) : s->size;
		if (extra >= 24) {
			sn->icount = qcow2_be64(buf + p + 16);
			sn->has_icount = sn->icount != UINT64_MAX;
		}
		p += extra;
		sn->id = malloc((size_t)idl + 1);
		sn->name = malloc((size_t)nl + 1);
		if (!sn->id || !sn->name) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(sn->id, buf + p, idl);
		sn->id[idl] = 0;
		p += idl;
		memcpy(sn->name, buf + p, nl);
		sn->name[nl] = 0;
		p += nl;
		p = (p + 7) & ~(size_t)7;
		if (p > have)
			goto out;
		if (sn->l1_offset % cs || (uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
		    (sn->l1_size && (sn->l1_offset < cs || sn->l1_offset >= s->file_end ||
				     (uint64_t)sn->l1_size * 8 > s->file_end - sn->l1_offset)))
			goto out;
	}
	s->snapshots_size = p;
	ret = 0;
out:
	free(buf);
	return ret;
}

/* Adds addend to the refcount of every L2 table and cluster l1 reaches.
 * active: l1 is the active table (COPIED flags maintained in it). */
static int l1_refs(struct qcow2_state *s, uint64_t *l1, uint32_t l1_size, int addend, int active)
{
	uint64_t cs = s->cluster_size;
	int ret = 0;

	for (uint32_t i = 0; i < l1_size && ret == 0; i++) {
		uint64_t l2 = l1[i] & QCOW2_L1_OFFSET_MASK, rc;
		uint8_t *t;

		if (!l2)
			continue;
		if (l2 % cs || l2 >= s->file_end)
			return QCOW2_E_L1_ENTRY;
		for (unsigned j = 0; j < s->l2_entries && ret == 0; j++) {
			uint64_t e, host, ne;

			ret = qcow2_cache_get(s, &s->l2_cache, l2, 0, &t);
			if (ret < 0)
				break;
			e = qcow2_be64(t + (size_t)j * s->l2_entry_bytes);
			if (qcow2_validate_l2_entry(s, e) < 0)
				continue;
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t o, l;

				qcow2_compressed_range(s, e, &o, &l);
				for (uint64_t c = o / cs; addend && c <= (o + l - 1) / cs && ret == 0; c++)
					ret = qcow2_update_refcount(s, c, addend);
				continue;
			}
			host = e & QCOW2_L2_OFFSET_MASK;
			if (!host || s->data_fd != s->fd)
				continue;
			if (addend)
				ret = qcow2_update_refcount(s, host / cs, addend);
			if (ret == 0 && active) {
				ret = qcow2_get_refcount(s, host / cs, &rc);
				ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
				if (ret == 0 && ne != e) {
					ret = qcow2_cache_get(s, &s->l2_cache, l2, 0, &t);
					if (ret == 0) {
						qcow2_put_be64(t + (size_t)j * s->l2_entry_bytes, ne);
						qcow2_cache_mark_dirty(&s->l2_cache, t);
					}
				}
			}
		}
		if (ret < 0)
			break;
		if (addend)
			ret = qcow2_update_refcount(s, l2 / cs, addend);
		if (ret == 0 && addend < 0 && qcow2_get_refcount(s, l2 / cs, &rc) == 0 && rc == 0)
			qcow2_cache_drop(&s->l2_cache, l2);
		if (ret == 0 && active) {
			ret = qcow2_get_refcount(s, l2 / cs, &rc);
			if (ret == 0)
				l1[i] = l2 | (rc == 1 ? QCOW2_OFLAG_COPIED : 0);
		}
	}
	return ret;
}

static int write_active_l1(struct qcow2_state *s);

/* A tree (L1 copy l1 of l1_size entries at l1_offset) loses its references,
 * L1 clusters included; clusters only the active image uses now get COPIED
 * back; the active L1 and the metadata reach the disk. */
static int drop_tree(struct qcow2_state *s, uint64_t *l1, uint64_t l1_offset, uint32_t l1_size)
{
	uint64_t cs = s->cluster_size;
	int ret = l1_refs(s, l1, l1_size, -1, 0);

	for (uint64_t c = l1_offset / cs; ret == 0 && l1_size && c <= (l1_offset + l1_size * 8ull - 1) / cs; c++)
		ret = qcow2_update_refcount(s, c, -1);
	if (ret == 0)
		ret = l1_refs(s, s->l1, s->l1_size, 0, 1);
	if (ret == 0)
		ret = write_active_l1(s);
	if (ret == 0)
		ret = qcow2_flush_all(s);
	return ret;
}

static int write_active_l1(struct qcow2_state *s)
{
	for (uint32_t i = 0; i < s->l1_size; i++) {
		int ret = qcow2_write_l1_entry(s, i);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Writes the table at a new place, points the header to it, frees the old. */
static int write_table(struct qcow2_state *s, struct qcow2_snapshot *sn, uint32_t n)
{
	uint64_t cs = s->cluster_size, size = 0, old = s->snapshots_offset, oldsz = s->snapshots_size;
	uint8_t *buf, hb[12];
	int64_t c = 0;
	size_t p = 0;
	int ret = 0;

	for (uint32_t i = 0; i < n; i++)
		size += (40 + sn[i].extra_size + strlen(sn[i].id) + strlen(sn[i].name) + 7) & ~7ull;
	buf = calloc(1, size ? size : 1);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		size_t idl = strlen(sn[i].id), nl = strlen(sn[i].name);

		qcow2_put_be64(buf + p, sn[i].l1_offset);
		qcow2_put_be32(buf + p + 8, sn[i].l1_size);
		qcow2_put_be16(buf + p + 12, (uint16_t)idl);
		qcow2_put_be16(buf + p + 14, (uint16_t)nl);
		qcow2_put_be32(buf + p + 16, sn[i].date_sec);
		qcow2_put_be32(buf + p + 20, sn[i].date_nsec);
		qcow2_put_be64(buf + p + 24, sn[i].vm_clock_nsec);
		qcow2_put_be32(buf + p + 32, sn[i].vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn[i].vm_state_size);
		qcow2_put_be32(buf + p + 36, sn[i].extra_size);
		memcpy(buf + p + 40, sn[i].extra, sn[i].extra_size);
		p += 40 + sn[i].extra_size;
		memcpy(buf + p, sn[i].id, idl);
		p += idl;
		memcpy(buf + p, sn[i].name, nl);
		p = (p + nl + 7) & ~(size_t)7;
	}
	if (n) {
		c = qcow2_alloc_clusters(s, (size + cs - 1) / cs);
		if (c < 0) {
			free(buf);
			return (int)c;
		}
		ret = qcow2_pwrite(s->fd, buf, size, (uint64_t)c);
	}
	free(buf);
	if (ret == 0)
		ret = qcow2_cache_write_all(s, &s->rb_cache);
	if (ret == 0)
		ret = qcow2_sync(s);
	qcow2_put_be32(hb, n);
	qcow2_put_be64(hb + 4, (uint64_t)c);
	if (ret == 0)
		ret = qcow2_pwrite(s->fd, hb, 12, 60);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret < 0)
		return ret;
	s->nb_snapshots = n;
	s->snapshots_offset = (uint64_t)c;
	s->snapshots_size = size;
	if (old && oldsz)
		for (uint64_t cl = old / cs; cl <= (old + oldsz - 1) / cs && ret == 0; cl++)
			ret = qcow2_update_refcount(s, cl, -1);
	return ret;
}

static int find_snapshot(struct qcow2_state *s, const char *key)
{
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].id, key))
			return (int)i;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].name, key))
			return (int)i;
	return -1;
}

static struct qcow2_state *rw_state(struct block_dev *bs, int need_rw)
{
	if (!bs || bs->drv != &block_driver_qcow2)
		return NULL;
	if (need_rw && ((struct qcow2_state *)bs->priv)->read_only)
		return NULL;
	return bs->priv;
}

int qcow2_snapshot_list(struct block_dev *bs, struct qcow2_snapshot_info **out, int *count)
{
	struct qcow2_state *s = rw_state(bs, 0);
	struct qcow2_snapshot_info *v;

	if (!s || !out || !count)
		return -EINVAL;
	v = calloc(s->nb_snapshots ? s->nb_snapshots : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];

		snprintf(v[i].id, sizeof(v[i].id), "%s", sn->id);
		snprintf(v[i].name, sizeof(v[i].name), "%s", sn->name);
		v[i].vm_state_size = sn->vm_state_size;
		v[i].date_sec = sn->date_sec;
		v[i].date_nsec = sn->date_nsec;
		v[i].vm_clock_nsec = sn->vm_clock_nsec;
		v[i].disk_size = sn->disk_size;
		v[i].icount_valid = (uint32_t)sn->has_icount;
		v[i].icount = sn->icount;
	}
	*out = v;
	*count = (int)s->nb_snapshots;
	return 0;
}

int qcow2_snapshot_create(struct block_dev *bs, const char *name)
{
	struct qcow2_state *s = rw_state(bs, 1);
	struct qcow2_snapshot *ns, *sn;
	uint64_t cs, maxid = 0;
	uint8_t *raw = NULL;
	struct timespec ts;
	char idbuf[32];
	int64_t c;
	int ret;

	if (!s)
		return bs && bs->drv == &block_driver_qcow2 ? -EROFS : -EINVAL;
	if (!name || !*name || strlen(name) > 255)
		return -EINVAL;
	cs = s->cluster_size;
	pthread_mutex_lock(&s->lock);
	ret = QCOW2_E_SNAPSHOT_EXISTS;
	if (find_snapshot(s, name) >= 0 || s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		goto out;
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		uint64_t v = strtoull(s->snaps[i].id, NULL, 10);

		if (v > maxid)
			maxid = v;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)maxid + 1);
	ret = qcow2_flush_all(s);
	if (ret < 0)
		goto out;
	/* References first, then the copy of the L1 table, then the table. */
	ret = l1_refs(s, s->l1, s->l1_size, 1, 1);
	if (ret == 0)
		ret = qcow2_flush_all(s);
	if (ret == 0)
		ret = write_active_l1(s);
	if (ret < 0)
		goto out;
	c = qcow2_alloc_clusters(s, ((uint64_t)s->l1_size * 8 + cs - 1) / cs ? ((uint64_t)s->l1_size * 8 + cs - 1) / cs : 1);
	if (c < 0) {
		ret = (int)c;
		goto out;
	}
	raw = calloc(1, (uint64_t)s->l1_size * 8 + 8);
	if (!raw) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		qcow2_put_be64(raw + i * 8ull, s->l1[i] & ~QCOW2_OFLAG_COPIED);
	ret = qcow2_pwrite(s->fd, raw, (size_t)s->l1_size * 8, (uint64_t)c);
	free(raw);
	if (ret < 0)
		goto out;
	ns = realloc(s->snaps, sizeof(*ns) * (s->nb_snapshots + 1));
	if (!ns) {
		ret = -ENOMEM;
		goto out;
	}
	s->snaps = ns;
	sn = &ns[s->nb_snapshots];
	memset(sn, 0, sizeof(*sn));
	clock_gettime(CLOCK_REALTIME, &ts);
	sn->l1_offset = (uint64_t)c;
	sn->l1_size = s->l1_size;
	sn->id = strdup(idbuf);
	sn->name = strdup(name);
	sn->date_sec = (uint32_t)ts.tv_sec;
	sn->date_nsec = (uint32_t)ts.tv_nsec;
	sn->disk_size = s->size;
	sn->icount = UINT64_MAX;
	sn->extra_size = 24;
	sn->extra = calloc(1, 24);
	if (!sn->id || !sn->name || !sn->extra) {
		free(sn->id), free(sn->name), free(sn->extra);
		ret = -ENOMEM;
		goto out;
	}
	qcow2_put_be64(sn->extra + 8, s->size);
	qcow2_put_be64(sn->extra + 16, UINT64_MAX);
	ret = write_table(s, s->snaps, s->nb_snapshots + 1);
	if (ret < 0) {
		free(sn->id), free(sn->name), free(sn->extra);
		goto out;
	}
	ret = qcow2_flush_all(s);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The writable image of bs with its lock taken and *idx the snapshot named
 * or numbered key (-1: none); or an error without the lock. */
static int lock_snapshot(struct block_dev *bs, const char *key, struct qcow2_state **sp, int *idx)
{
	struct qcow2_state *s = rw_state(bs, 1);

	if (!s)
		return bs && bs->drv == &block_driver_qcow2 ? -EROFS : -EINVAL;
	if (!key)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	*sp = s;
	*idx = find_snapshot(s, key);
	return 0;
}

int qcow2_snapshot_delete(struct block_dev *bs, const char *key)
{
	struct qcow2_state *s;
	struct qcow2_snapshot gone;
	uint64_t *l1 = NULL;
	int idx, ret = lock_snapshot(bs, key, &s, &idx);

	if (ret < 0)
		return ret;
	ret = QCOW2_E_NO_SNAPSHOT;
	if (idx < 0)
		goto out;
	ret = qcow2_flush_all(s);
	if (ret < 0)
		goto out;
	gone = s->snaps[idx];
	l1 = calloc(gone.l1_size ? gone.l1_size : 1, 8);
	if (!l1) {
		ret = -ENOMEM;
		goto out;
	}
	ret = qcow2_pread(s->fd, l1, (size_t)gone.l1_size * 8, gone.l1_offset);
	if (ret < 0)
		goto out;
	for (uint32_t i = 0; i < gone.l1_size; i++)
		l1[i] = qcow2_be64(&l1[i]);
	/* The table forgets the snapshot before its clusters lose references. */
	memmove(&s->snaps[idx], &s->snaps[idx + 1], sizeof(*s->snaps) * (s->nb_snapshots - (uint32_t)idx - 1));
	ret = write_table(s, s->snaps, s->nb_snapshots - 1);
	if (ret < 0) {
		memmove(&s->snaps[idx + 1], &s->snaps[idx], sizeof(*s->snaps) * (s->nb_snapshots - (uint32_t)idx - 1));
		s->snaps[idx] = gone;
		goto out;
	}
	free(gone.id), free(gone.name), free(gone.extra);
	ret = drop_tree(s, l1, gone.l1_offset, gone.l1_size);
out:
	free(l1);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int qcow2_snapshot_apply(struct block_dev *bs, const char *key)
{
	struct qcow2_state *s;
	struct qcow2_snapshot *sn;
	uint64_t *nl1 = NULL, *old = NULL, cs, cov, need, n, oldoff, oldsz;
	uint8_t *raw = NULL, hb[20];
	int64_t c;
	int idx, ret = lock_snapshot(bs, key, &s, &idx);

	if (ret < 0)
		return ret;
	cs = s->cluster_size;
	cov = cs * s->l2_entries;
	ret = QCOW2_E_NO_SNAPSHOT;
	if (idx < 0)
		goto out;
	sn = &s->snaps[idx];
	ret = qcow2_flush_all(s);
	if (ret < 0)
		goto out;
	need = (sn->disk_size + cov - 1) / cov;
	n = sn->l1_size > need ? sn->l1_size : need;
	nl1 = calloc(n ? n : 1, 8);
	raw = calloc(1, n * 8 + cs);
	if (!nl1 || !raw) {
		ret = -ENOMEM;
		goto out;
	}
	ret = qcow2_pread(s->fd, nl1, (size_t)sn->l1_size * 8, sn->l1_offset);
	if (ret < 0)
		goto out;
	for (uint32_t i = 0; i < sn->l1_size; i++)
		nl1[i] = qcow2_be64(&nl1[i]) & ~QCOW2_OFLAG_COPIED;
	/* The snapshot's tree gains the active image's reference first. */
	ret = l1_refs(s, nl1, sn->l1_size, 1, 0);
	if (ret == 0)
		ret = qcow2_flush_all(s);
	if (ret < 0)
		goto out;
	c = qcow2_alloc_clusters(s, (n * 8 + cs - 1) / cs ? (n * 8 + cs - 1) / cs : 1);
	if (c < 0) {
		ret = (int)c;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		qcow2_put_be64(raw + i * 8, nl1[i]);
	ret = qcow2_pwrite(s->fd, raw, n * 8, (uint64_t)c);
	if (ret == 0)
		ret = qcow2_cache_write_all(s, &s->rb_cache);
	if (ret == 0)
		ret = qcow2_sync(s);
	qcow2_put_be64(hb, sn->disk_size);
	qcow2_put_be32(hb + 8, 0);
	qcow2_put_be32(hb + 12, (uint32_t)n);
	if (ret == 0)
		ret = qcow2_pwrite(s->fd, hb, 8, 24);
	if (ret == 0)
		ret = qcow2_pwrite(s->fd, hb + 12, 4, 36);
	qcow2_put_be64(hb, (uint64_t)c);
	if (ret == 0)
		ret = qcow2_pwrite(s->fd, hb, 8, 40);
	if (ret == 0)
		ret = qcow2_sync(s);
	if (ret < 0)
		goto out;
	old = s->l1;
	oldoff = s->l1_offset;
	oldsz = s->l1_size;
	s->l1 = nl1;
	nl1 = NULL;
	s->l1_offset = (uint64_t)c;
	s->l1_size = (uint32_t)n;
	s->size = sn->disk_size;
	bs->size = s->size;
	/* Then the old active tree loses its reference. */
	ret = drop_tree(s, old, oldoff, (uint32_t)oldsz);
out:
	free(old);
	free(nl1);
	free(raw);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
