/* I/O bus: port I/O and MMIO ranges registered by devices, looked up on every
 * exit (modelled on kvmtool's kvm__register_iotrap, one registration call for
 * both kinds). Handlers get the offset within their range. Overlapping
 * registrations are refused; unclaimed reads return all-ones and unclaimed
 * writes are dropped and counted, as on a PC. Thread-safe: vCPU threads
 * dispatch concurrently; (un)registration (BAR moves) takes the lock and
 * bumps gen, which invalidates each thread's cached last hit (bus.c). */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <pthread.h>
#include <stdint.h>

struct bus_ops {
	/* size is 1, 2, 4 or 8; offset is relative to the registered base.
	 * Either callback may be NULL (reads then return all-ones). */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;          /* "pio" or "mmio", for messages */
	pthread_rwlock_t lock;
	struct bus_range *ranges;  /* sorted by base, non-overlapping */
	unsigned nranges, cap;
	uint64_t gen;              /* bumped by every (un)registration */
	uint64_t unclaimed_reads, unclaimed_writes;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Registers [base, base+len). Returns 0, -EINVAL for len 0 or overflow,
 * -EEXIST when it overlaps a registered range, -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);

/* Removes the range that starts at base and belongs to opaque. 0 or -ENOENT. */
int bus_unregister(struct bus *bus, uint64_t base, void *opaque);

/* Dispatch an access of size 1/2/4/8 bytes, little-endian in data.
 * Return 0 if a device claimed it, -ENOENT if not (reads fill 0xff).
 * Accesses that straddle the end of a range are delivered byte by byte. */
int bus_read(struct bus *bus, uint64_t addr, void *data, unsigned size);
int bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned size);

/* Name of the range containing addr, or NULL (diagnostics). */
const char *bus_lookup_name(struct bus *bus, uint64_t addr);

#endif
