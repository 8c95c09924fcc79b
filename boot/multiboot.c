/* Multiboot 0.6.96 (version 1) kernels: header in the first 8 KiB, ELF32/
 * ELF64 program headers or the a.out kludge (flag 16) addresses, and the
 * multiboot information (mem, cmdline, mods, mmap, loader name) with
 * EAX = 0x2BADB002, EBX = its address, in flat 32-bit protected mode.
 * -initrd lists modules as QEMU does: "file args,file2" (",," is a comma). */
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/e820.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/pagetables.h"
#include "vmm/memory.h"

#define MB_MAGIC          0x1BADB002u
#define MB_BOOT_MAGIC     0x2BADB002u
#define MB_SEARCH         8192
#define MB_AOUT_KLUDGE    0x00010000u
#define MB_REQ_UNKNOWN    0x0000fff8u   /* bits 0-2: page-align mods, mem, video */

#define MBI_MEM           0x001
#define MBI_CMDLINE       0x004
#define MBI_MODS          0x008
#define MBI_MMAP          0x040
#define MBI_LOADER_NAME   0x200

#define MBI_SIZE          0x58
#define MBI_MMAP_OFF      0x100         /* mmap entries follow the mbi in its page */
#define MBI_NAME_OFF      0x800
#define MB_MODULES_SIZE   0x10000       /* module list + strings at LAYOUT_MB_MODULES */
#define MB_MAX_MODULES    256

int multiboot_probe(const struct boot_file *f, uint64_t *hdr_off)
{
	uint8_t buf[MB_SEARCH];
	uint64_t n = f->size < MB_SEARCH ? f->size : MB_SEARCH;
	int ret = boot_file_read(f, 0, buf, n);
	if (ret < 0)
		return ret;
	for (uint64_t off = 0; off + 12 <= n; off += 4) {
		uint32_t magic = boot_get32(buf + off);
		if (magic != MB_MAGIC)
			continue;
		uint32_t flags = boot_get32(buf + off + 4), sum = boot_get32(buf + off + 8);
		if ((uint32_t)(magic + flags + sum) == 0) {
			*hdr_off = off;
			return 1;
		}
	}
	return 0;
}

/* Loads the a.out-kludge image; *end is the end of its bss. */
static int load_kludge(struct boot_ctx *ctx, const struct boot_file *f, uint64_t hdr_off,
		       const uint8_t *h, uint64_t *entry, uint64_t *end)
{
	uint64_t header_addr = boot_get32(h + 12), load_addr = boot_get32(h + 16);
	uint64_t load_end = boot_get32(h + 20), bss_end = boot_get32(h + 24);
	uint64_t entry_addr = boot_get32(h + 28);

	if (load_addr > header_addr || header_addr - load_addr > hdr_off)
		return -BOOT_ERR_BAD_HEADER;
	uint64_t file_off = hdr_off - (header_addr - load_addr);
	uint64_t load_size;
	if (load_end == 0) {
		load_size = f->size - file_off;
	} else {
		if (load_end < load_addr)
			return -BOOT_ERR_BAD_HEADER;
		load_size = load_end - load_addr;
		if (load_size > f->size - file_off)
			return -BOOT_ERR_TRUNCATED;
	}
	uint64_t mem_end = load_addr + load_size;
	if (bss_end) {
		if (bss_end < mem_end)
			return -BOOT_ERR_BAD_HEADER;
		mem_end = bss_end;
	}
	if (entry_addr < load_addr || entry_addr >= mem_end)
		return -BOOT_ERR_BAD_HEADER;
	int ret = boot_check_range(ctx->mem, load_addr, mem_end - load_addr, LAYOUT_FIRMWARE_END);
	if (ret < 0)
		return ret;
	ret = boot_file_load(f, ctx->mem, file_off, load_size, load_addr);
	if (ret < 0)
		return ret;
	if (mem_end > load_addr + load_size) {
		uint8_t *bss = guest_memory_ptr(ctx->mem, load_addr + load_size, mem_end - load_addr - load_size);
		if (!bss)
			return -BOOT_ERR_NO_ROOM;
		memset(bss, 0, mem_end - load_addr - load_size);
	}
	*entry = entry_addr;
	*end = mem_end;
	return 0;
}

/* Splits the -initrd module list in place: ",," stays a literal comma.
 * Returns the number of modules written to mods[] (each NUL-terminated). */
static unsigned split_modules(char *s, char **mods, unsigned max)
{
	unsigned n = 0;
	char *w = s, *start = s;
	for (char *r = s;; r++) {
		if (*r == ',' && r[1] == ',') {
			*w++ = ',';
			r++;
			continue;
		}
		if (*r == ',' || *r == 0) {
			int last = *r == 0;
			*w++ = 0;
			if (n < max && *start)
				mods[n++] = start;
			start = w;
			if (last)
				break;
			continue;
		}
		*w++ = *r;
	}
	return n;
}

static int load_modules(struct boot_ctx *ctx, uint64_t kernel_end, uint32_t *count)
{
	const struct boot_config *cfg = ctx->cfg;
	struct guest_memory *mem = ctx->mem;
	char *mods[MB_MAX_MODULES];
	*count = 0;
	if (!cfg->initrd || !cfg->initrd[0])
		return 0;
	*ctx->failed_path = cfg->initrd;
	size_t len = strlen(cfg->initrd);
	if (len >= MB_MODULES_SIZE)
		return -BOOT_ERR_NO_ROOM;
	char *copy = strdup(cfg->initrd);
	if (!copy)
		return -BOOT_ERR_NO_ROOM;
	unsigned n = split_modules(copy, mods, MB_MAX_MODULES);
	uint64_t list = LAYOUT_MB_MODULES, strings = LAYOUT_MB_MODULES + 16ULL * n;
	uint64_t area_end = LAYOUT_MB_MODULES + MB_MODULES_SIZE;
	uint64_t next = BOOT_ALIGN_UP(kernel_end, 4096), low_end = e820_low_ram_end(mem);
	int ret = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t sl = strlen(mods[i]) + 1;
		if (strings + sl > area_end) {
			ret = -BOOT_ERR_NO_ROOM;
			break;
		}
		ret = guest_memory_write(mem, strings, mods[i], sl) < 0 ? -BOOT_ERR_NO_ROOM : 0;
		if (ret < 0)
			break;
		char *sp = strchr(mods[i], ' ');
		if (sp)
			*sp = 0;                        /* the file name ends at the first space */
		struct boot_file mf;
		ret = boot_file_open(&mf, mods[i]);
		if (ret < 0)
			break;
		ret = boot_check_range(mem, next, mf.size, low_end);
		if (ret == 0)
			ret = boot_file_load(&mf, mem, 0, mf.size, next);
		if (ret == -BOOT_ERR_TRUNCATED)
			ret = -BOOT_ERR_IO;
		boot_file_close(&mf);
		if (ret < 0)
			break;
		uint8_t ent[16];
		boot_put32(ent, (uint32_t)next);
		boot_put32(ent + 4, (uint32_t)(next + mf.size));
		boot_put32(ent + 8, (uint32_t)strings);
		boot_put32(ent + 12, 0);
		if (guest_memory_write(mem, list + 16ULL * i, ent, sizeof(ent)) < 0) {
			ret = -BOOT_ERR_NO_ROOM;
			break;
		}
		strings += sl;
		next = BOOT_ALIGN_UP(next + mf.size, 4096);
	}
	free(copy);
	if (ret == 0) {
		*count = n;
		*ctx->failed_path = cfg->kernel;
	}
	return ret;
}

int multiboot_load(struct boot_ctx *ctx, const struct boot_file *f, uint64_t hdr_off)
{
	const struct boot_config *cfg = ctx->cfg;
	struct guest_memory *mem = ctx->mem;
	uint8_t h[32];
	uint64_t entry, end;
	int ret;

	*ctx->failed_path = f->path;
	ret = boot_file_read(f, hdr_off, h, 12);
	if (ret < 0)
		return ret;
	uint32_t flags = boot_get32(h + 4);
	if (flags & MB_REQ_UNKNOWN)
		return -BOOT_ERR_UNSUPPORTED;
	if (flags & MB_AOUT_KLUDGE) {
		ret = boot_file_read(f, hdr_off, h, 32);
		if (ret < 0)
			return ret;
		ret = load_kludge(ctx, f, hdr_off, h, &entry, &end);
	} else {
		struct elf_info info;
		ret = elf_load_segments(mem, f, LAYOUT_FIRMWARE_END, &info);
		entry = info.entry;
		end = info.end;
		if (ret == 0 && entry >= LAYOUT_FIRMWARE_END)
			ret = -BOOT_ERR_BAD_HEADER;
	}
	if (ret < 0)
		return ret;

	/* As QEMU: the kernel's own path, then -append. */
	ret = boot_write_cmdline(mem, cfg->kernel, cfg->cmdline, LAYOUT_CMDLINE_MAX - 1);
	if (ret < 0) {
		if (ret == -BOOT_ERR_CMDLINE_TOO_LONG)
			*ctx->failed_path = "-append";
		return ret;
	}
	uint32_t nmods;
	ret = load_modules(ctx, end, &nmods);
	if (ret < 0)
		return ret;

	uint8_t mbi[0x1000];
	memset(mbi, 0, sizeof(mbi));
	uint64_t low_end = e820_low_ram_end(mem);
	boot_put32(mbi + 0, MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
	boot_put32(mbi + 4, (uint32_t)(LAYOUT_EBDA_START / 1024));             /* mem_lower KiB */
	boot_put32(mbi + 8, (uint32_t)((low_end - LAYOUT_KERNEL_LOAD) / 1024)); /* mem_upper KiB */
	boot_put32(mbi + 16, (uint32_t)LAYOUT_CMDLINE);
	boot_put32(mbi + 20, nmods);
	boot_put32(mbi + 24, (uint32_t)LAYOUT_MB_MODULES);
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, E820_MAX_ENTRIES);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = mbi + MBI_MMAP_OFF + 24 * i;
		boot_put32(e, 20);          /* size of the entry, not counting this field */
		boot_put64(e + 4, map[i].addr);
		boot_put64(e + 12, map[i].size);
		boot_put32(e + 20, map[i].type);
	}
	boot_put32(mbi + 44, (uint32_t)(24 * n));
	boot_put32(mbi + 48, (uint32_t)(LAYOUT_ZERO_PAGE + MBI_MMAP_OFF));
	memcpy(mbi + MBI_NAME_OFF, "vmm", 4);
	boot_put32(mbi + 64, (uint32_t)(LAYOUT_ZERO_PAGE + MBI_NAME_OFF));
	ret = boot_enter_prot32(mem, ctx->cpu, LAYOUT_ZERO_PAGE, mbi, sizeof(mbi), entry);
	if (ret == 0)
		ctx->cpu->rax = MB_BOOT_MAGIC;
	return ret;
}
