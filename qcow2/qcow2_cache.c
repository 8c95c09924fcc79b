/* QCOW2 metadata caches (L2 tables, refcount blocks): write-back, LRU, one
 * cluster per entry, and the flush order that keeps the image consistent
 * after a crash at any point (qcow2.txt "Refcount"): refcount blocks reach
 * the disk before the L2 tables that reference newly allocated clusters, and
 * references are dropped from L2 tables before the refcounts decrease. */
#include "qcow2/qcow2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qcow2_cache_init(struct qcow2_cache *c, unsigned n, unsigned size)
{
	memset(c, 0, sizeof(*c));
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	c->n = n;
	c->size = size;
	for (unsigned i = 0; i < n; i++) {
		c->e[i].data = malloc(size);
		if (!c->e[i].data) {
			qcow2_cache_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	if (!c->e)
		return;
	for (unsigned i = 0; i < c->n; i++)
		free(c->e[i].data);
	free(c->e);
	c->e = NULL;
	c->n = 0;
}

static int write_entry(struct qcow2_state *s, struct qcow2_cache *c, struct qcow2_cache_entry *e)
{
	int ret;

	if (!e->dirty)
		return 0;
	/* An L2 table may reference clusters whose refcount is only cached;
	 * with lazy refcounts the dirty bit covers that instead. */
	if (c == &s->l2_cache && qcow2_lazy(s)) {
		ret = qcow2_mark_dirty(s);
		if (ret < 0)
			return ret;
	} else if (c == &s->l2_cache) {
		ret = qcow2_cache_write_all(s, &s->rb_cache);
		if (ret == 0)
			ret = qcow2_sync(s);
		if (ret < 0)
			return ret;
	}
	if (qcow2_overlaps_fixed(s, e->offset, c->size))
		return QCOW2_E_OVERLAP;
	ret = qcow2_pwrite(s->fd, e->data, c->size, e->offset);
	if (ret == 0)
		e->dirty = 0;
	return ret;
}

int qcow2_cache_get(struct qcow2_state *s, struct qcow2_cache *c, uint64_t offset, int fresh,
		    uint8_t **out)
{
	struct qcow2_cache_entry *v = NULL;
	int ret;

	for (unsigned i = 0; i < c->n; i++) {
		struct qcow2_cache_entry *e = &c->e[i];

		if (e->offset == offset) {
			e->lru = ++c->tick;
			if (fresh)
				memset(e->data, 0, c->size);
			*out = e->data;
			return 0;
		}
		if (!v || (v->offset && (!e->offset || e->lru < v->lru)))
			v = e;
	}
	if (v->offset) {
		ret = write_entry(s, c, v);
		if (ret < 0)
			return ret;
	}
	v->offset = 0;
	if (fresh) {
		memset(v->data, 0, c->size);
	} else {
		ret = qcow2_pread(s->fd, v->data, c->size, offset);
		if (ret < 0)
			return ret;
	}
	v->offset = offset;
	v->dirty = 0;
	v->lru = ++c->tick;
	*out = v->data;
	return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].data == data && c->e[i].offset)
			c->e[i].dirty = 1;
}

int qcow2_cache_write_all(struct qcow2_state *s, struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		if (c->e[i].offset && c->e[i].dirty) {
			int ret = write_entry(s, c, &c->e[i]);

			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t offset)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset == offset) {
			c->e[i].offset = 0;
			c->e[i].dirty = 0;
		}
}

void qcow2_cache_clear(struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		c->e[i].offset = 0;
		c->e[i].dirty = 0;
	}
}

static int cache_any_dirty(const struct qcow2_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->e[i].offset && c->e[i].dirty)
			return 1;
	return 0;
}

int qcow2_flush_all(struct qcow2_state *s)
{
	int lazy = qcow2_lazy(s), ret;

	if (s->read_only)
		return 0;
	/* Nothing cached to order: one barrier for the data writes. */
	if (!cache_any_dirty(&s->rb_cache) && !cache_any_dirty(&s->l2_cache) && !s->ndeferred)
		return qcow2_sync(s);
	/* Exact refcounts: refcount blocks, barrier, L2 tables, barrier. Lazy
	 * (the dirty bit set first): both unordered, one barrier. */
	ret = lazy ? qcow2_mark_dirty(s) : qcow2_cache_write_all(s, &s->rb_cache);
	if (ret == 0 && !lazy)
		ret = qcow2_sync(s);
	if (ret == 0)
		ret = qcow2_cache_write_all(s, &s->l2_cache);
	if (ret == 0 && lazy)
		ret = qcow2_cache_write_all(s, &s->rb_cache);
	if (ret == 0)
		ret = qcow2_sync(s);
	/* Frees wait for the tables that dropped the clusters (lazy: written,
	 * not waited for; the dirty bit covers them). */
	if (ret == 0 && s->ndeferred) {
		ret = qcow2_apply_deferred(s);
		if (ret == 0)
			ret = qcow2_cache_write_all(s, &s->rb_cache);
		if (ret == 0 && !lazy)
			ret = qcow2_sync(s);
	}
	return ret;
}
