/* fw_cfg device (QEMU docs/specs/fw_cfg.rst; hw/nvram/fw_cfg.c is the reference
 * behaviour): port I/O selector/data interface and the DMA interface. The guest
 * controls the DMA descriptor address and every address in it; all of them go
 * through guest_memory_ptr, and a bad one sets the error bit, nothing else. */
#include "devices/fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/memory.h"

#define MAX_ITEMS (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS + 16)
#define INVALID   0xffffffffu

struct item {
	uint16_t key;
	uint8_t *data;
	uint32_t len;
};

struct fw_cfg {
	pthread_mutex_t lock;
	struct bus *pio;
	uint16_t base;
	const struct guest_memory *mem;
	struct item items[MAX_ITEMS];
	unsigned nitems;
	char names[FW_CFG_FILE_SLOTS][FW_CFG_MAX_FILE_PATH];
	unsigned nfiles;
	uint32_t cur;            /* index into items, or INVALID */
	uint32_t offset;         /* read position in the current item */
	uint64_t dma_addr;       /* high half latched by a write to 0x514 */
};

static struct item *find(struct fw_cfg *fw, uint16_t key)
{
	for (unsigned i = 0; i < fw->nitems; i++)
		if (fw->items[i].key == key)
			return &fw->items[i];
	return NULL;
}

/* Stores a copy of data under key; replaces an existing item. Lock held or
 * not yet shared. */
static int set_item(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	if (len > UINT32_MAX)
		return -EINVAL;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	struct item *it = find(fw, key);
	if (!it) {
		if (fw->nitems >= MAX_ITEMS) {
			free(copy);
			return -ENOSPC;
		}
		it = &fw->items[fw->nitems++];
		it->key = key;
	} else {
		free(it->data);
	}
	it->data = copy;
	it->len = (uint32_t)len;
	return 0;
}

static void select_key(struct fw_cfg *fw, uint16_t key)
{
	fw->offset = 0;
	fw->cur = INVALID;
	if ((key & FW_CFG_ENTRY_MASK) >= FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
		return;
	/* The write channel bit is ignored: writes are refused anyway. */
	struct item *it = find(fw, key & (FW_CFG_ENTRY_MASK | FW_CFG_ARCH_LOCAL));
	if (it)
		fw->cur = (uint32_t)(it - fw->items);
}

static uint8_t read_byte(struct fw_cfg *fw)
{
	if (fw->cur == INVALID || fw->offset >= fw->items[fw->cur].len)
		return 0;
	return fw->items[fw->cur].data[fw->offset++];
}

static uint64_t port_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fw_cfg *fw = opaque;
	uint64_t v = 0;
	if (offset != FW_CFG_PORT_DATA)
		return 0;
	pthread_mutex_lock(&fw->lock);
	/* Wider reads return consecutive bytes in memory order. */
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)read_byte(fw) << (8 * i);
	pthread_mutex_unlock(&fw->lock);
	return v;
}

static void port_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fw_cfg *fw = opaque;
	/* Only a 16-bit write at the selector selects (as QEMU's x86 port); data
	 * writes were removed from the interface and are ignored. */
	if (offset != FW_CFG_PORT_SEL || size != 2)
		return;
	pthread_mutex_lock(&fw->lock);
	select_key(fw, (uint16_t)value);
	pthread_mutex_unlock(&fw->lock);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Runs the FWCfgDmaAccess at addr (fw_cfg.rst "DMA interface"). Lock held. */
static void dma_transfer(struct fw_cfg *fw, uint64_t addr)
{
	uint8_t *desc = guest_memory_ptr(fw->mem, addr, 16);
	if (!desc)
		return;          /* nowhere to report the error: QEMU drops it too */
	uint8_t d[16];
	memcpy(d, desc, sizeof(d));  /* read once: the guest may change it meanwhile */
	uint32_t control = be32(d);
	uint32_t length = be32(d + 4);
	uint64_t gpa = (uint64_t)be32(d + 8) << 32 | be32(d + 12);
	int error = 0;

	if (control & FW_CFG_DMA_CTL_SELECT)
		select_key(fw, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_CTL_WRITE) {
		error = 1;       /* the write channel is not offered */
	} else if (control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_SKIP)) {
		int read = (control & FW_CFG_DMA_CTL_READ) != 0;
		while (length > 0 && !error) {
			const struct item *it = fw->cur == INVALID ? NULL : &fw->items[fw->cur];
			uint32_t avail = it && fw->offset < it->len ? it->len - fw->offset : 0;
			uint32_t n = avail ? (length < avail ? length : avail) : length;
			if (read) {
				uint8_t *dst = guest_memory_ptr(fw->mem, gpa, n);
				if (!dst) {
					error = 1;
					break;
				}
				/* Past the end of the item (or no item) reads as zeros. */
				if (avail)
					memcpy(dst, it->data + fw->offset, n);
				else
					memset(dst, 0, n);
			}
			if (avail)
				fw->offset += n;
			gpa += n;
			length -= n;
		}
	}
	uint8_t *ctl = guest_memory_ptr(fw->mem, addr, 4);
	if (ctl) {
		uint8_t out[4] = { 0, 0, 0, error ? FW_CFG_DMA_CTL_ERROR : 0 };
		memcpy(ctl, out, 4);
	}
}

static uint64_t bswap(uint64_t v, unsigned size)
{
	uint64_t r = 0;
	for (unsigned i = 0; i < size; i++)
		r |= ((v >> (8 * i)) & 0xff) << (8 * (size - 1 - i));
	return r;
}

static uint64_t dma_read(void *opaque, uint64_t offset, unsigned size)
{
	/* The DMA register reads as "QEMU CFG" in memory order. */
	static const char sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
	uint64_t v = 0;
	for (unsigned i = 0; i < size && offset + i < 8; i++)
		v |= (uint64_t)(uint8_t)sig[offset + i] << (8 * i);
	return v;
}

static void dma_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fw_cfg *fw = opaque;
	pthread_mutex_lock(&fw->lock);
	if (size == 4 && offset == 0) {
		fw->dma_addr = bswap(value, 4) << 32;
	} else if (size == 4 && offset == 4) {
		uint64_t addr = fw->dma_addr | bswap(value, 4);
		fw->dma_addr = 0;    /* SeaBIOS writes only the low half */
		dma_transfer(fw, addr);
	} else if (size == 8 && offset == 0) {
		fw->dma_addr = 0;
		dma_transfer(fw, bswap(value, 8));
	}
	pthread_mutex_unlock(&fw->lock);
}

static const struct bus_ops port_ops = { port_read, port_write };
static const struct bus_ops dma_ops = { dma_read, dma_write };

/* FW_CFG_FILE_DIR: count, then { size, select, reserved, name[56] }, big-endian. */
static int rebuild_dir(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nfiles * 64;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -ENOMEM;
	dir[0] = (uint8_t)(fw->nfiles >> 24);
	dir[1] = (uint8_t)(fw->nfiles >> 16);
	dir[2] = (uint8_t)(fw->nfiles >> 8);
	dir[3] = (uint8_t)fw->nfiles;
	for (unsigned i = 0; i < fw->nfiles; i++) {
		uint8_t *e = dir + 4 + 64 * i;
		uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + i);
		const struct item *it = find(fw, key);
		uint32_t size = it ? it->len : 0;
		e[0] = (uint8_t)(size >> 24);
		e[1] = (uint8_t)(size >> 16);
		e[2] = (uint8_t)(size >> 8);
		e[3] = (uint8_t)size;
		e[4] = (uint8_t)(key >> 8);
		e[5] = (uint8_t)key;
		memcpy(e + 8, fw->names[i], FW_CFG_MAX_FILE_PATH);
	}
	int ret = set_item(fw, FW_CFG_FILE_DIR, dir, len);
	free(dir);
	return ret;
}

int fw_cfg_create(struct fw_cfg **out, struct bus *pio, uint16_t base,
		  const struct guest_memory *mem)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	pthread_mutex_init(&fw->lock, NULL);
	fw->pio = pio;
	fw->base = base;
	fw->mem = mem;
	fw->cur = INVALID;
	int ret = set_item(fw, FW_CFG_SIGNATURE, "QEMU", 4);
	if (ret == 0) {
		uint8_t id[4] = { FW_CFG_VERSION | FW_CFG_VERSION_DMA, 0, 0, 0 };
		ret = set_item(fw, FW_CFG_ID, id, 4);
	}
	if (ret == 0)
		ret = rebuild_dir(fw);
	if (ret == 0)
		ret = bus_register(pio, base, 2, &port_ops, fw, "fw_cfg");
	if (ret == 0) {
		ret = bus_register(pio, (uint64_t)base + FW_CFG_PORT_DMA, 8, &dma_ops, fw, "fw_cfg-dma");
		if (ret < 0)
			bus_unregister(pio, base, fw);
	}
	if (ret < 0) {
		fw->pio = NULL;
		fw_cfg_destroy(fw);
		return ret;
	}
	*out = fw;
	return 0;
}

void fw_cfg_destroy(struct fw_cfg *fw)
{
	if (!fw)
		return;
	if (fw->pio) {
		bus_unregister(fw->pio, fw->base, fw);
		bus_unregister(fw->pio, (uint64_t)fw->base + FW_CFG_PORT_DMA, fw);
	}
	for (unsigned i = 0; i < fw->nitems; i++)
		free(fw->items[i].data);
	pthread_mutex_destroy(&fw->lock);
	free(fw);
}

int fw_cfg_add_item(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	uint16_t k = key & (FW_CFG_ENTRY_MASK | FW_CFG_ARCH_LOCAL);
	if (k != key || k == FW_CFG_SIGNATURE || k == FW_CFG_ID || k == FW_CFG_FILE_DIR ||
	    (k & FW_CFG_ENTRY_MASK) >= FW_CFG_FILE_FIRST)
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	int ret = set_item(fw, k, data, len);
	pthread_mutex_unlock(&fw->lock);
	return ret;
}

static int add_le(struct fw_cfg *fw, uint16_t key, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return fw_cfg_add_item(fw, key, b, n);
}

int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v) { return add_le(fw, key, v, 2); }
int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v) { return add_le(fw, key, v, 4); }
int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v) { return add_le(fw, key, v, 8); }

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len)
{
	size_t nlen = strlen(name);
	if (nlen == 0)
		return -EINVAL;
	if (nlen >= FW_CFG_MAX_FILE_PATH)
		return -ENAMETOOLONG;
	if (len > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&fw->lock);
	int ret = 0;
	for (unsigned i = 0; i < fw->nfiles; i++)
		if (strcmp(fw->names[i], name) == 0)
			ret = -EEXIST;
	if (ret == 0 && fw->nfiles >= FW_CFG_FILE_SLOTS)
		ret = -ENOSPC;
	uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + fw->nfiles);
	if (ret == 0)
		ret = set_item(fw, key, data, len);
	if (ret == 0) {
		memset(fw->names[fw->nfiles], 0, FW_CFG_MAX_FILE_PATH);
		memcpy(fw->names[fw->nfiles], name, nlen);
		fw->nfiles++;
		ret = rebuild_dir(fw);
		if (ret < 0) {
			/* keep the directory and the items consistent */
			fw->nfiles--;
			fw->nitems--;
			free(fw->items[fw->nitems].data);
		}
	}
	pthread_mutex_unlock(&fw->lock);
	return ret < 0 ? ret : key;
}
