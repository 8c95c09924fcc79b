/* ELF kernels (System V gABI program headers, ELF32 and ELF64): an x86-64
 * vmlinux entered through PVH (Xen arch-x86/hvm/start_info.h, note
 * XEN_ELFNOTE_PHYS32_ENTRY) or through the Linux 64-bit entry with a zero
 * page (boot.rst "64-bit Boot Protocol", as Firecracker does). */
#include <string.h>

#include "boot/boot.h"
#include "boot/e820.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/pagetables.h"
#include "vmm/memory.h"

#define PT_LOAD   1
#define PT_NOTE   4
#define ELF_MAX_PHDRS      128
#define ELF_MAX_NOTES_SIZE 0x10000
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* hvm_start_info (version 1) and its companions, little-endian. */
#define PVH_MAGIC            0x336ec578
#define PVH_MODLIST          (LAYOUT_PVH_START_INFO + 0x40)
#define PVH_MEMMAP           (LAYOUT_PVH_START_INFO + 0x80)
#define PVH_MEMMAP_MAX       ((0x1000 - 0x80) / 24)

struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

static void parse_phdr(const uint8_t *p, int is64, struct phdr *ph)
{
	ph->type = boot_get32(p);
	if (is64) {
		ph->offset = boot_get64(p + 8);
		ph->vaddr = boot_get64(p + 16);
		ph->paddr = boot_get64(p + 24);
		ph->filesz = boot_get64(p + 32);
		ph->memsz = boot_get64(p + 40);
	} else {
		ph->offset = boot_get32(p + 4);
		ph->vaddr = boot_get32(p + 8);
		ph->paddr = boot_get32(p + 12);
		ph->filesz = boot_get32(p + 16);
		ph->memsz = boot_get32(p + 20);
	}
}

/* Scans one PT_NOTE segment for the PVH entry note. */
static int find_pvh_note(const struct boot_file *f, const struct phdr *ph, struct elf_info *info)
{
	static const uint64_t cap = ELF_MAX_NOTES_SIZE;
	uint8_t buf[ELF_MAX_NOTES_SIZE];
	uint64_t len = ph->filesz < cap ? ph->filesz : cap;
	int ret = boot_file_read(f, ph->offset, buf, len);
	if (ret < 0)
		return ret;
	uint64_t off = 0;
	while (len - off >= 12) {
		uint64_t namesz = boot_get32(buf + off), descsz = boot_get32(buf + off + 4);
		uint32_t type = boot_get32(buf + off + 8);
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + BOOT_ALIGN_UP(namesz, 4);
		uint64_t next = desc_off + BOOT_ALIGN_UP(descsz, 4);
		if (desc_off > len || next > len)   /* namesz/descsz < 2^32: no overflow */
			return -BOOT_ERR_TRUNCATED;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(buf + name_off, "Xen", 4) == 0) {
			if (descsz == 4)
				info->pvh_entry = boot_get32(buf + desc_off);
			else if (descsz == 8)
				info->pvh_entry = boot_get64(buf + desc_off);
			else
				return -BOOT_ERR_BAD_HEADER;
			info->has_pvh = 1;
		}
		off = next;
	}
	return 0;
}

int elf_load_segments(struct guest_memory *mem, const struct boot_file *f, uint64_t limit,
		      struct elf_info *info)
{
	uint8_t eh[64];
	uint8_t phbuf[ELF_MAX_PHDRS * 56];
	struct phdr ph[ELF_MAX_PHDRS];
	int ret;

	memset(info, 0, sizeof(*info));
	if (f->size < 52)
		return f->size >= 4 ? -BOOT_ERR_TRUNCATED : -BOOT_ERR_FORMAT;
	ret = boot_file_read(f, 0, eh, f->size < 64 ? 52 : 64);
	if (ret < 0)
		return ret;
	if (memcmp(eh, "\177ELF", 4) != 0)
		return -BOOT_ERR_FORMAT;
	int is64 = eh[4] == 2;
	if ((eh[4] != 1 && eh[4] != 2) || eh[5] != 1)   /* class, little-endian */
		return -BOOT_ERR_BAD_HEADER;
	if (is64 && f->size < 64)
		return -BOOT_ERR_TRUNCATED;
	uint16_t machine = boot_get16(eh + 18);
	if (machine != (is64 ? 62 : 3))                   /* EM_X86_64 / EM_386 */
		return -BOOT_ERR_BAD_HEADER;
	if (boot_get16(eh + 16) != 2)                     /* ET_EXEC */
		return -BOOT_ERR_BAD_HEADER;
	uint64_t entry = is64 ? boot_get64(eh + 24) : boot_get32(eh + 24);
	uint64_t phoff = is64 ? boot_get64(eh + 32) : boot_get32(eh + 28);
	uint64_t phentsize = boot_get16(eh + (is64 ? 54 : 42));
	uint64_t phnum = boot_get16(eh + (is64 ? 56 : 44));
	uint64_t want = is64 ? 56 : 32;
	if (phentsize < want || phentsize > 256 || phnum == 0 || phnum > ELF_MAX_PHDRS)
		return -BOOT_ERR_BAD_HEADER;
	if (phoff > f->size || phnum * phentsize > f->size - phoff)
		return -BOOT_ERR_TRUNCATED;

	/* Check every header before loading anything. */
	uint64_t start = UINT64_MAX, end = 0;
	unsigned nload = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		ret = boot_file_read(f, phoff + i * phentsize, phbuf + i * want, want);
		if (ret < 0)
			return ret;
		parse_phdr(phbuf + i * want, is64, &ph[i]);
		if (ph[i].type == PT_NOTE) {
			if (ph[i].offset > f->size || ph[i].filesz > f->size - ph[i].offset)
				return -BOOT_ERR_TRUNCATED;
			ret = find_pvh_note(f, &ph[i], info);
			if (ret < 0)
				return ret;
		}
		if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
			continue;
		if (ph[i].filesz > ph[i].memsz)
			return -BOOT_ERR_BAD_HEADER;
		if (ph[i].offset > f->size || ph[i].filesz > f->size - ph[i].offset)
			return -BOOT_ERR_TRUNCATED;
		ret = boot_check_range(mem, ph[i].paddr, ph[i].memsz, limit);
		if (ret < 0)
			return ret;
		if (ph[i].paddr < start)
			start = ph[i].paddr;
		if (ph[i].paddr + ph[i].memsz > end)
			end = ph[i].paddr + ph[i].memsz;
		nload++;
	}
	if (nload == 0)
		return -BOOT_ERR_BAD_HEADER;

	/* The entry is physical when it falls inside a loaded segment (Linux's
	 * vmlinux: ENTRY(phys_startup_64)); otherwise translate it from the
	 * segment whose virtual range holds it. */
	int found = 0;
	for (uint64_t i = 0; i < phnum && !found; i++)
		if (ph[i].type == PT_LOAD && entry >= ph[i].paddr && entry - ph[i].paddr < ph[i].memsz)
			found = 1;
	for (uint64_t i = 0; i < phnum && !found; i++)
		if (ph[i].type == PT_LOAD && entry >= ph[i].vaddr && entry - ph[i].vaddr < ph[i].memsz) {
			entry = entry - ph[i].vaddr + ph[i].paddr;
			found = 1;
		}
	info->entry = found ? entry : UINT64_MAX;

	for (uint64_t i = 0; i < phnum; i++) {
		if (ph[i].type != PT_LOAD || ph[i].memsz == 0)
			continue;
		ret = boot_file_load(f, mem, ph[i].offset, ph[i].filesz, ph[i].paddr);
		if (ret < 0)
			return ret;
		uint8_t *bss = guest_memory_ptr(mem, ph[i].paddr + ph[i].filesz, ph[i].memsz - ph[i].filesz);
		if (ph[i].memsz > ph[i].filesz) {
			if (!bss)
				return -BOOT_ERR_NO_ROOM;
			memset(bss, 0, ph[i].memsz - ph[i].filesz);
		}
	}
	info->is64 = is64;
	info->start = start;
	info->end = end;
	return 0;
}

static int pvh_start(struct boot_ctx *ctx, const struct elf_info *info)
{
	const struct boot_config *cfg = ctx->cfg;
	struct guest_memory *mem = ctx->mem;
	uint8_t si[0x1000];
	int ret;

	memset(si, 0, sizeof(si));
	boot_put32(si + 0, PVH_MAGIC);
	boot_put32(si + 4, 1);                         /* version: has memmap */
	ret = boot_write_cmdline(mem, NULL, cfg->cmdline, LAYOUT_CMDLINE_MAX - 1);
	if (ret < 0) {
		*ctx->failed_path = ret == -BOOT_ERR_CMDLINE_TOO_LONG ? "-append" : cfg->kernel;
		return ret;
	}
	boot_put64(si + 24, LAYOUT_CMDLINE);
	boot_put64(si + 32, ctx->rsdp);

	if (cfg->initrd && cfg->initrd[0]) {
		uint64_t addr, size;
		ret = boot_load_high(mem, cfg->initrd, info->end, e820_low_ram_end(mem), &addr, &size);
		if (ret < 0) {
			*ctx->failed_path = cfg->initrd;
			return ret;
		}
		uint8_t *m = si + (PVH_MODLIST - LAYOUT_PVH_START_INFO);
		boot_put64(m, addr);
		boot_put64(m + 8, size);
		boot_put32(si + 12, 1);                /* nr_modules */
		boot_put64(si + 16, PVH_MODLIST);
	}

	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, E820_MAX_ENTRIES);
	if (n < 0)
		return n;
	for (int i = 0; i < n && i < (int)PVH_MEMMAP_MAX; i++) {
		uint8_t *e = si + (PVH_MEMMAP - LAYOUT_PVH_START_INFO) + 24 * i;
		boot_put64(e, map[i].addr);
		boot_put64(e + 8, map[i].size);
		boot_put32(e + 16, map[i].type);   /* XEN_HVM_MEMMAP_TYPE_* == e820 types */
	}
	boot_put64(si + 40, PVH_MEMMAP);
	boot_put32(si + 48, (uint32_t)n);
	return boot_enter_prot32(mem, ctx->cpu, LAYOUT_PVH_START_INFO, si, sizeof(si), info->pvh_entry);
}

int elf_load_kernel(struct boot_ctx *ctx, const struct boot_file *f)
{
	const struct boot_config *cfg = ctx->cfg;
	struct elf_info info;
	int ret;

	*ctx->failed_path = f->path;
	if (cfg->elf_entry < BOOT_ELF_AUTO || cfg->elf_entry > BOOT_ELF_PVH)
		return -BOOT_ERR_UNSUPPORTED;
	ret = elf_load_segments(ctx->mem, f, UINT64_MAX, &info);
	if (ret < 0)
		return ret;
	if (!info.is64)
		return -BOOT_ERR_FORMAT;
	int pvh = cfg->elf_entry == BOOT_ELF_PVH || (cfg->elf_entry == BOOT_ELF_AUTO && info.has_pvh);
	if (pvh) {
		if (!info.has_pvh)
			return -BOOT_ERR_UNSUPPORTED;
		/* The 32-bit entry must be loaded code below 4 GiB. */
		if (info.pvh_entry >= LAYOUT_FIRMWARE_END || info.pvh_entry < info.start ||
		    info.pvh_entry >= info.end)
			return -BOOT_ERR_BAD_HEADER;
		ret = pvh_start(ctx, &info);
		if (ret < 0 && !*ctx->failed_path)
			*ctx->failed_path = f->path;
		return ret;
	}
	if (info.entry == UINT64_MAX)
		return -BOOT_ERR_BAD_HEADER;

	/* A zero page as a boot loader of protocol 2.12 would leave it, with
	 * no setup code in the file to copy it from. */
	uint8_t zp[4096];
	memset(zp, 0, sizeof(zp));
	boot_put16(zp + 0x1fe, 0xAA55);                    /* boot_flag */
	memcpy(zp + 0x202, "HdrS", 4);
	boot_put16(zp + 0x206, 0x020c);                    /* version */
	zp[0x211] = 0x01;                                  /* loadflags: LOADED_HIGH */
	boot_put32(zp + 0x22c, 0x7fffffff);                /* initrd_addr_max */
	boot_put32(zp + 0x230, 0x01000000);                /* kernel_alignment */
	boot_put16(zp + 0x236, 0x0003);                    /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	boot_put32(zp + 0x238, (uint32_t)(LAYOUT_CMDLINE_MAX - 1)); /* cmdline_size */
	return linux_finish_zero_page(ctx, zp, info.end, info.entry);
}
