/* Guest memory regions and checked guest-physical to host translation.
 * Layout per boot/layout.h (RAM below 3 GiB, remainder above 4 GiB). */
#include "vmm/memory.h"
#include "boot/layout.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static int range_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guest_memory_add_region(struct guest_memory *mem, uint64_t gpa, uint64_t size, void *host)
{
	if (size == 0 || gpa + size < gpa || host == NULL)
		return -EINVAL;
	if (mem->nregions >= GUEST_MEMORY_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned i = 0; i < mem->nregions; i++)
		if (range_overlaps(gpa, size, mem->regions[i].gpa, mem->regions[i].size))
			return -EINVAL;
	mem->regions[mem->nregions++] = (struct guest_region){ gpa, size, host, 0 };
	mem->ram_size += size;
	return 0;
}

static int map_region(struct guest_memory *mem, uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	madvise(p, size, MADV_MERGEABLE);
	int ret = guest_memory_add_region(mem, gpa, size, p);
	if (ret < 0) {
		munmap(p, size);
		return ret;
	}
	mem->regions[mem->nregions - 1].owned = 1;
	return 0;
}

int guest_memory_init(struct guest_memory *mem, uint64_t ram_size)
{
	memset(mem, 0, sizeof(*mem));
	if (ram_size < LAYOUT_MIN_RAM || (ram_size & 0xfff))
		return -EINVAL;
	uint64_t low = ram_size < LAYOUT_LOWMEM_END ? ram_size : LAYOUT_LOWMEM_END;
	int ret = map_region(mem, 0, low);
	if (ret == 0 && ram_size > low)
		ret = map_region(mem, LAYOUT_HIGHMEM_START, ram_size - low);
	if (ret < 0)
		guest_memory_destroy(mem);
	return ret;
}

void guest_memory_destroy(struct guest_memory *mem)
{
	for (unsigned i = 0; i < mem->nregions; i++)
		if (mem->regions[i].owned)
			munmap(mem->regions[i].host, mem->regions[i].size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_memory_ptr(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_memory_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_memory_ptr(mem, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t guest_memory_low_size(const struct guest_memory *mem)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < mem->nregions; i++)
		if (mem->regions[i].gpa < LAYOUT_LOWMEM_END)
			n += mem->regions[i].size;
	return n;
}

uint64_t guest_memory_high_size(const struct guest_memory *mem)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < mem->nregions; i++)
		if (mem->regions[i].gpa >= LAYOUT_HIGHMEM_START)
			n += mem->regions[i].size;
	return n;
}
