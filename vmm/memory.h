/* Guest memory: the RAM regions of a VM and the only way to turn a guest
 * physical address range into a host pointer. Every lookup checks the whole
 * range (including arithmetic overflow) against one region; device and boot
 * code never add offsets to a base pointer themselves. No KVM here: the
 * regions are plain host memory, so unit tests and fuzzers use it directly. */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_MEMORY_MAX_REGIONS 8

struct guest_region {
	uint64_t gpa;     /* guest physical start */
	uint64_t size;    /* bytes */
	uint8_t *host;    /* host mapping of the region */
	int owned;        /* 1 if guest_memory_destroy() must munmap it */
};

struct guest_memory {
	struct guest_region regions[GUEST_MEMORY_MAX_REGIONS];
	unsigned nregions;
	uint64_t ram_size;  /* total RAM bytes (sum of RAM regions) */
};

/* Lays out ram_size bytes of anonymous memory per boot/layout.h: below
 * LAYOUT_LOWMEM_END, and the remainder from LAYOUT_HIGHMEM_START.
 * Returns 0, -EINVAL for a size below LAYOUT_MIN_RAM or not page aligned,
 * -ENOMEM when the host refuses the mapping. On error *mem is zeroed. */
int guest_memory_init(struct guest_memory *mem, uint64_t ram_size);

/* Adds a caller-owned region (tests, fuzzers, firmware ROM). Returns 0,
 * -EINVAL on overflow or overlap with an existing region, -ENOSPC when full. */
int guest_memory_add_region(struct guest_memory *mem, uint64_t gpa, uint64_t size, void *host);

/* Unmaps owned regions and zeroes *mem. */
void guest_memory_destroy(struct guest_memory *mem);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one region,
 * else NULL (also for len == 0 past a region end, and for overflowing ranges). */
void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Copy to/from guest memory. Return 0 or -EFAULT when the range is not RAM. */
int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len);
int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len);

/* RAM split as laid out: bytes below LAYOUT_LOWMEM_END and above 4 GiB. */
uint64_t guest_memory_low_size(const struct guest_memory *mem);
uint64_t guest_memory_high_size(const struct guest_memory *mem);

#endif
