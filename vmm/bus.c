/* I/O bus: sorted range table with binary search; handlers run outside the
 * lock so a handler may itself (un)register ranges (PCI BAR programming).
 * The exit path first tries the calling thread's last hit on this bus, valid
 * while bus->gen is unchanged: a guest polling one register (a status port,
 * a virtio ISR) then takes no lock at all (docs/performance.md, exit path). */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Generations are unique in the process, so a bus destroyed and initialised
 * again at the same address never matches a stale cached hit. */
static uint64_t gen_counter;

static void bump_gen(struct bus *bus)
{
	__atomic_store_n(&bus->gen, __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED),
			 __ATOMIC_RELEASE);
}

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bump_gen(bus);
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose end is above addr. Caller holds the lock. */
static unsigned find_slot(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nranges;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	if (len == 0 || base + len < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	int ret = 0;
	unsigned i = find_slot(bus, base);
	if (i < bus->nranges && bus->ranges[i].base < base + len) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nranges == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *n = realloc(bus->ranges, cap * sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque, name };
	bus->nranges++;
	bump_gen(bus);
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base, void *opaque)
{
	int ret = -ENOENT;
	pthread_rwlock_wrlock(&bus->lock);
	unsigned i = find_slot(bus, base);
	if (i < bus->nranges && bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->nranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nranges--;
		bump_gen(bus);
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* The last range each thread found on each bus (a machine has two buses,
 * pio and mmio, so two slots, picked by the bus's address). */
struct bus_hit {
	const struct bus *bus;
	uint64_t gen;
	struct bus_range r;
};
static __thread struct bus_hit last_hit[2];

static struct bus_hit *hit_slot(const struct bus *bus)
{
	return &last_hit[((uintptr_t)bus / sizeof(struct bus)) & 1];
}

/* Copies the range holding addr into *out. Devices outlive the vCPUs, so the
 * copy stays valid after the lock is dropped, and so does a cached copy
 * whose generation is current: a (un)registration racing with the access
 * is ordered before or after it either way, as with the lock. */
static int lookup(struct bus *bus, uint64_t addr, struct bus_range *out)
{
	struct bus_hit *h = hit_slot(bus);
	uint64_t gen = __atomic_load_n(&bus->gen, __ATOMIC_ACQUIRE);
	if (h->bus == bus && h->gen == gen && addr - h->r.base < h->r.len) {
		*out = h->r;
		return 0;
	}
	int ret = -ENOENT;
	pthread_rwlock_rdlock(&bus->lock);
	unsigned i = find_slot(bus, addr);
	if (i < bus->nranges && bus->ranges[i].base <= addr) {
		*out = bus->ranges[i];
		h->bus = bus;
		h->gen = bus->gen;
		h->r = *out;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static int bus_access(struct bus *bus, uint64_t addr, uint8_t *data, unsigned size, int is_write)
{
	struct bus_range r;
	int found = lookup(bus, addr, &r) == 0;
	if (found && addr - r.base + size <= r.len) {
		uint64_t off = addr - r.base, v = ~0ULL;
		if (is_write) {
			v = 0;
			memcpy(&v, data, size);
			if (r.ops->write)
				r.ops->write(r.opaque, off, size, v);
		} else {
			if (r.ops->read)
				v = r.ops->read(r.opaque, off, size);
			memcpy(data, &v, size);
		}
		return 0;
	}
	if (size > 1) {
		/* Straddles a range boundary or starts unclaimed: byte by byte. */
		int claimed = 0;
		for (unsigned b = 0; b < size; b++)
			claimed |= bus_access(bus, addr + b, data + b, 1, is_write) == 0;
		return claimed ? 0 : -ENOENT;
	}
	if (is_write) {
		__atomic_add_fetch(&bus->unclaimed_writes, 1, __ATOMIC_RELAXED);
	} else {
		*data = 0xff;
		__atomic_add_fetch(&bus->unclaimed_reads, 1, __ATOMIC_RELAXED);
	}
	return -ENOENT;
}

int bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size)
{
	return bus_access(bus, addr, data, size, 0);
}

int bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned size)
{
	return bus_access(bus, addr, (uint8_t *)data, size, 1);
}

const char *bus_lookup_name(struct bus *bus, uint64_t addr)
{
	struct bus_range r;
	return lookup(bus, addr, &r) == 0 ? r.name : NULL;
}
