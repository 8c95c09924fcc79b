/* Split virtqueue, device side (virtio 1.2 section 2.7). The driver owns the
 * ring memory, so every field read from it is untrusted: addresses go
 * through guest_memory_ptr(), chain walks are bounded by the table size, and
 * any violation makes the queue fail with a sticky VIRTQ_E_* code. */
#include "devices/virtio/queue.h"

#include <string.h>

#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)

void virtq_init(struct virtq *q, const struct guest_memory *mem)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
}

void virtq_reset(struct virtq *q)
{
	const struct guest_memory *mem = q->mem;
	void (*fn)(void *, int) = q->on_error;
	void *opaque = q->error_opaque;

	virtq_init(q, mem);
	q->on_error = fn;
	q->error_opaque = opaque;
}

int virtq_setup(struct virtq *q, uint16_t size, uint64_t desc, uint64_t avail,
		uint64_t used, uint64_t features)
{
	void *d, *a, *u;

	if (size == 0 || (size & (size - 1)) || size > VIRTQ_MAX_SIZE)
		return VIRTQ_E_SIZE;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return VIRTQ_E_RING_ADDR;
	/* Sizes from 2.7: desc 16*n; avail 4 + 2*n + used_event; used 4 + 8*n + avail_event. */
	d = guest_memory_ptr(q->mem, desc, 16ULL * size);
	a = guest_memory_ptr(q->mem, avail, 6ULL + 2ULL * size);
	u = guest_memory_ptr(q->mem, used, 6ULL + 8ULL * size);
	if (!d || !a || !u)
		return VIRTQ_E_RING_ADDR;

	q->size = size;
	q->desc_addr = desc;
	q->avail_addr = avail;
	q->used_addr = used;
	q->event_idx = (features >> 29) & 1;
	q->indirect = (features >> 28) & 1;
	q->desc = d;
	q->avail = a;
	q->used_hdr = u;
	q->used_ring = (volatile struct virtq_used_elem *)((uint8_t *)u + 4);
	q->avail_event = (volatile uint16_t *)((uint8_t *)u + 4 + 8ULL * size);
	q->last_avail_idx = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_used_valid = false;
	q->error = 0;
	q->ready = true;
	return 0;
}

static int virtq_fail(struct virtq *q, int err)
{
	if (!q->error) {
		q->error = err;
		if (q->on_error)
			q->on_error(q->error_opaque, err);
	}
	return q->error;
}

static uint16_t avail_idx(struct virtq *q)
{
	return __atomic_load_n(&q->avail[1], __ATOMIC_RELAXED);
}

bool virtq_has_avail(struct virtq *q)
{
	if (!q->ready || q->error)
		return false;
	return avail_idx(q) != q->last_avail_idx;
}

/* Appends one buffer; zero-length ones are accepted and dropped. */
static int elem_add(struct virtq *q, struct virtq_elem *elem, const struct virtq_desc *d,
		    bool *seen_write)
{
	uint64_t addr = d->addr, len = d->len;
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (!writable && *seen_write)
		return VIRTQ_E_ORDER;
	if (writable)
		*seen_write = true;
	if (addr + len < addr)
		return VIRTQ_E_DESC_WRAP;
	if (len == 0)
		return 0;
	p = guest_memory_ptr(q->mem, addr, len);
	if (!p)
		return VIRTQ_E_DESC_ADDR;
	if (elem->out_num + elem->in_num >= VIRTQ_ELEM_MAX_IOV)
		return VIRTQ_E_TOO_MANY_IOV;
	elem->iov[elem->out_num + elem->in_num].iov_base = p;
	elem->iov[elem->out_num + elem->in_num].iov_len = len;
	if (writable) {
		elem->in_num++;
		elem->in_len += len;
	} else {
		elem->out_num++;
		elem->out_len += len;
	}
	return 0;
}

/* Walks an indirect table (2.7.5.3): no nesting, NEXT bounded by the table. */
static int walk_indirect(struct virtq *q, struct virtq_elem *elem, const struct virtq_desc *id,
			 bool *seen_write, unsigned *budget)
{
	const struct virtq_desc *table;
	uint32_t n, i, steps;
	int rc;

	if (!q->indirect)
		return VIRTQ_E_INDIRECT_FEATURE;
	if (id->flags & VIRTQ_DESC_F_NEXT)
		return VIRTQ_E_INDIRECT_FLAGS;
	if (id->len == 0 || id->len % sizeof(struct virtq_desc) ||
	    id->len / sizeof(struct virtq_desc) > q->size)
		return VIRTQ_E_INDIRECT_LEN;
	if (id->addr + id->len < id->addr)
		return VIRTQ_E_DESC_WRAP;
	if (id->addr & (_Alignof(struct virtq_desc) - 1))
		return VIRTQ_E_INDIRECT_ADDR;
	table = guest_memory_ptr(q->mem, id->addr, id->len);
	if (!table)
		return VIRTQ_E_INDIRECT_ADDR;
	n = id->len / sizeof(struct virtq_desc);

	for (i = 0, steps = 0;; steps++) {
		struct virtq_desc d;

		if (steps >= n || *budget == 0)
			return VIRTQ_E_LOOP;
		(*budget)--;
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return VIRTQ_E_INDIRECT_NESTED;
		rc = elem_add(q, elem, &d, seen_write);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return VIRTQ_E_NEXT;
		i = d.next;
	}
}

static int walk_chain(struct virtq *q, uint16_t head, struct virtq_elem *elem)
{
	unsigned budget = q->size; /* total descriptors a chain may use (2.7.13.1) */
	bool seen_write = false;
	uint16_t i = head;
	int rc;

	elem->head = head;
	elem->out_num = elem->in_num = 0;
	elem->out_len = elem->in_len = 0;

	for (;;) {
		struct virtq_desc d;

		if (budget == 0)
			return VIRTQ_E_LOOP;
		budget--;
		/* The driver may rewrite the table under us: copy once, use the copy. */
		memcpy(&d, &q->desc[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Write-only flag of the indirect descriptor is ignored (2.7.5.3.2). */
			return walk_indirect(q, elem, &d, &seen_write, &budget);
		}
		rc = elem_add(q, elem, &d, &seen_write);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= q->size)
			return VIRTQ_E_NEXT;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_elem *elem)
{
	uint16_t idx, head;
	int rc;

	if (q->error)
		return q->error;
	if (!q->ready)
		return VIRTQ_E_NOT_READY;
	idx = avail_idx(q);
	if (idx == q->last_avail_idx)
		return 0;
	if ((uint16_t)(idx - q->last_avail_idx) > q->size)
		return virtq_fail(q, VIRTQ_E_AVAIL_IDX);
	/* Ring entries and descriptors are read after idx (2.7.13.4 pairs
	 * with the driver's write barrier before publishing idx). */
	smp_rmb();
	head = __atomic_load_n(&q->avail[2 + (q->last_avail_idx & (q->size - 1))], __ATOMIC_RELAXED);
	if (head >= q->size)
		return virtq_fail(q, VIRTQ_E_HEAD);
	rc = walk_chain(q, head, elem);
	if (rc)
		return virtq_fail(q, rc);
	q->last_avail_idx++;
	if (q->event_idx) {
		/* Ask to be notified when the driver passes what we consumed. */
		__atomic_store_n(q->avail_event, q->last_avail_idx, __ATOMIC_RELAXED);
	}
	return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	volatile struct virtq_used_elem *e;

	if (!q->ready)
		return VIRTQ_E_NOT_READY;
	if (head >= q->size)
		return VIRTQ_E_USED_ID;
	e = &q->used_ring[q->used_idx & (q->size - 1)];
	e->id = head;
	e->len = written;
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	smp_wmb();
	__atomic_store_n(&q->used_hdr[1], q->used_idx, __ATOMIC_RELAXED);
	return 0;
}

/* 2.7.7.2: vring_need_event(). */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old, new_idx, event;
	bool valid;

	if (!q->ready)
		return false;
	/* Our used idx store must be visible before we read the driver's
	 * suppression fields, else both sides may sleep. */
	smp_mb();
	valid = q->signalled_used_valid;
	old = q->signalled_used;
	new_idx = q->used_idx;
	q->signalled_used = new_idx;
	q->signalled_used_valid = true;
	if (valid && old == new_idx)
		return false;   /* nothing used since the last interrupt */
	if (!q->event_idx)
		return !(__atomic_load_n(&q->avail[0], __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = __atomic_load_n(&q->avail[2 + q->size], __ATOMIC_RELAXED);
	return need_event(event, new_idx, old);
}

void virtq_disable_notify(struct virtq *q)
{
	if (!q->ready || q->event_idx)
		return;
	__atomic_store_n(&q->used_hdr[0], VIRTQ_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	if (q->event_idx)
		__atomic_store_n(q->avail_event, q->last_avail_idx, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&q->used_hdr[0], 0, __ATOMIC_RELAXED);
	/* Re-arm before re-checking, or a buffer added in between is missed. */
	smp_mb();
	return virtq_has_avail(q);
}

/* Copies between buf and bytes [off, off + len) of iov[0 .. n); to_iov
 * says which way. Returns the bytes copied. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, (uint8_t *)buf + done, l);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

size_t virtq_elem_read(const struct virtq_elem *elem, size_t off, void *buf, size_t len)
{
	return iov_copy(elem->iov, elem->out_num, off, buf, len, false);
}

size_t virtq_elem_write(const struct virtq_elem *elem, size_t off, const void *buf, size_t len)
{
	return iov_copy(elem->iov + elem->out_num, elem->in_num, off, (void *)buf, len, true);
}

const char *virtq_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case VIRTQ_E_NOT_READY: return "queue not ready";
	case VIRTQ_E_SIZE: return "bad queue size";
	case VIRTQ_E_RING_ADDR: return "ring area not in RAM or misaligned";
	case VIRTQ_E_AVAIL_IDX: return "available index moved by more than the queue size";
	case VIRTQ_E_HEAD: return "head descriptor index out of range";
	case VIRTQ_E_NEXT: return "next descriptor index out of range";
	case VIRTQ_E_LOOP: return "descriptor chain longer than the queue (loop)";
	case VIRTQ_E_DESC_WRAP: return "descriptor address + length wraps";
	case VIRTQ_E_DESC_ADDR: return "descriptor buffer not in RAM";
	case VIRTQ_E_ORDER: return "readable descriptor after a writable one";
	case VIRTQ_E_INDIRECT_FEATURE: return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
	case VIRTQ_E_INDIRECT_NESTED: return "nested indirect table";
	case VIRTQ_E_INDIRECT_LEN: return "bad indirect table length";
	case VIRTQ_E_INDIRECT_ADDR: return "indirect table not in RAM";
	case VIRTQ_E_INDIRECT_FLAGS: return "indirect descriptor with NEXT";
	case VIRTQ_E_TOO_MANY_IOV: return "too many buffers in one chain";
	case VIRTQ_E_USED_ID: return "used id out of range";
	default: return "unknown virtqueue error";
	}
}
