/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst, protocol 2.12+,
 * "64-bit Boot Protocol"): bzImage probing and placement, and the boot_params
 * zero page (setup header, command line, initrd, e820 table) that the 64-bit
 * entry of a bzImage or of an ELF vmlinux (elf.c) receives in rsi. */
#include <string.h>

#include "boot/boot.h"
#include "boot/e820.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/pagetables.h"
#include "vmm/memory.h"

/* struct boot_params / struct setup_header offsets (boot.rst "The real-mode
 * kernel header", arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_E820_ENTRIES     0x1e8
#define BP_HDR              0x1f1
#define BP_SETUP_SECTS      0x1f1
#define BP_BOOT_FLAG        0x1fe
#define BP_JUMP             0x200
#define BP_HEADER           0x202
#define BP_VERSION          0x206
#define BP_TYPE_OF_LOADER   0x210
#define BP_LOADFLAGS        0x211
#define BP_CODE32_START     0x214
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE     0x21c
#define BP_CMD_LINE_PTR     0x228
#define BP_INITRD_ADDR_MAX  0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE      0x234
#define BP_XLOADFLAGS       0x236
#define BP_CMDLINE_SIZE     0x238
#define BP_PREF_ADDRESS     0x258
#define BP_INIT_SIZE        0x260
#define BP_HDR_MAX_END      0x290   /* setup_header + padding before edd_mbr_sig_buffer */
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128
#define BP_SIZE             4096

#define LOADED_HIGH         0x01
#define XLF_KERNEL_64       0x01

int linux_finish_zero_page(struct boot_ctx *ctx, uint8_t *zp, uint64_t kernel_end, uint64_t entry)
{
	const struct boot_config *cfg = ctx->cfg;
	struct guest_memory *mem = ctx->mem;
	uint16_t version = boot_get16(zp + BP_VERSION);
	uint64_t low_end = e820_low_ram_end(mem);
	int ret;

	/* cmdline_size exists from 2.06; before it the limit was 255. */
	uint64_t max = version >= 0x0206 ? boot_get32(zp + BP_CMDLINE_SIZE) : 255;
	ret = boot_write_cmdline(mem, NULL, cfg->cmdline, max);
	if (ret < 0) {
		*ctx->failed_path = ret == -BOOT_ERR_CMDLINE_TOO_LONG ? "-append" : cfg->kernel;
		return ret;
	}
	boot_put32(zp + BP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);

	if (cfg->initrd && cfg->initrd[0]) {
		uint64_t addr_max = version >= 0x0203 ? boot_get32(zp + BP_INITRD_ADDR_MAX) : 0x37ffffff;
		uint64_t hi = addr_max + 1 < low_end ? addr_max + 1 : low_end;
		uint64_t addr, size;
		ret = boot_load_high(mem, cfg->initrd, kernel_end, hi, &addr, &size);
		if (ret < 0) {
			*ctx->failed_path = cfg->initrd;
			return ret;
		}
		if (size > 0xffffffffULL) {   /* cannot be: hi < 4 GiB */
			*ctx->failed_path = cfg->initrd;
			return -BOOT_ERR_NO_ROOM;
		}
		boot_put32(zp + BP_RAMDISK_IMAGE, (uint32_t)addr);
		boot_put32(zp + BP_RAMDISK_SIZE, (uint32_t)size);
	}

	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(mem, map, E820_MAX_ENTRIES);
	if (n < 0) {
		*ctx->failed_path = cfg->kernel;
		return n;
	}
	for (int i = 0; i < n && i < BP_E820_MAX; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;
		boot_put64(e, map[i].addr);
		boot_put64(e + 8, map[i].size);
		boot_put32(e + 16, map[i].type);
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	zp[BP_TYPE_OF_LOADER] = 0xff;     /* undefined loader ID */
	if (ctx->rsdp)
		boot_put64(zp + BP_ACPI_RSDP_ADDR, ctx->rsdp);

	if (guest_memory_write(mem, LAYOUT_ZERO_PAGE, zp, BP_SIZE) < 0) {
		*ctx->failed_path = cfg->kernel;
		return -BOOT_ERR_NO_ROOM;
	}

	struct boot_cpu_state *cpu = ctx->cpu;
	cpu->mode = BOOT_CPU_LONG64;
	ret = boot_setup_gdt(mem, cpu);
	if (ret == 0)
		ret = boot_setup_identity_map(mem, cpu);
	if (ret < 0) {
		*ctx->failed_path = cfg->kernel;
		return ret;
	}
	cpu->rip = entry;
	cpu->rsi = LAYOUT_ZERO_PAGE;
	cpu->rsp = LAYOUT_BOOT_STACK;
	return 0;
}

int linux_load_bzimage(struct boot_ctx *ctx, const struct boot_file *f)
{
	struct guest_memory *mem = ctx->mem;
	uint8_t zp[BP_SIZE];
	uint8_t hdr[BP_HDR_MAX_END];
	int ret;

	*ctx->failed_path = f->path;
	memset(hdr, 0, sizeof(hdr));
	/* The header's own length: 0x202 + the jump's displacement byte. */
	if (f->size < BP_HEADER + 4)
		return -BOOT_ERR_TRUNCATED;
	ret = boot_file_read(f, 0, hdr, BP_HEADER + 4);
	if (ret < 0)
		return ret;
	uint64_t hdr_end = BP_HEADER + (uint64_t)hdr[BP_JUMP + 1];
	if (hdr_end > BP_HDR_MAX_END)
		hdr_end = BP_HDR_MAX_END;
	if (hdr_end < BP_VERSION + 2)
		return -BOOT_ERR_BAD_HEADER;
	ret = boot_file_read(f, 0, hdr, hdr_end);
	if (ret < 0)
		return ret;

	uint16_t version = boot_get16(hdr + BP_VERSION);
	if (version < 0x0206)
		return -BOOT_ERR_UNSUPPORTED;
	if (hdr_end < BP_INIT_SIZE + 4 && version >= 0x020a)
		return -BOOT_ERR_BAD_HEADER;     /* header shorter than its version says */
	if (hdr_end < BP_CMDLINE_SIZE + 4)
		return -BOOT_ERR_BAD_HEADER;
	/* xloadflags (2.12) must announce the 64-bit entry at load + 0x200. */
	if (version < 0x020c || hdr_end < BP_XLOADFLAGS + 2 ||
	    !(boot_get16(hdr + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return -BOOT_ERR_UNSUPPORTED;
	if (!(hdr[BP_LOADFLAGS] & LOADED_HIGH))
		return -BOOT_ERR_UNSUPPORTED;     /* zImage */

	uint64_t setup_sects = hdr[BP_SETUP_SECTS] ? hdr[BP_SETUP_SECTS] : 4;
	uint64_t pm_off = (setup_sects + 1) * 512;
	if (pm_off >= f->size || f->size - pm_off <= 0x200)   /* must hold the 64-bit entry */
		return -BOOT_ERR_TRUNCATED;
	uint64_t pm_size = f->size - pm_off;
	uint64_t need = pm_size;
	uint64_t init_size = version >= 0x020a ? boot_get32(hdr + BP_INIT_SIZE) : 0;
	if (init_size > need)
		need = init_size;
	uint64_t pref = version >= 0x020a ? boot_get64(hdr + BP_PREF_ADDRESS) : 0;
	uint64_t align = boot_get32(hdr + BP_KERNEL_ALIGNMENT);
	uint64_t low_end = e820_low_ram_end(mem);
	uint64_t load = pref ? pref : LAYOUT_KERNEL_LOAD;

	/* boot.rst, init_size: a relocatable kernel first moves itself to
	 * align_up(max(load address, pref_address), kernel_alignment) and needs
	 * init_size bytes from there; loading it at exactly that address makes
	 * the move a no-op and the whole footprint [load, load + need). A
	 * non-relocatable kernel runs where pref_address (or 1 MiB) says. */
	if (hdr[BP_RELOCATABLE]) {
		if (align == 0 || (align & (align - 1)) || align > LAYOUT_GiB)
			return -BOOT_ERR_BAD_HEADER;
		if (load < LAYOUT_KERNEL_LOAD)
			load = LAYOUT_KERNEL_LOAD;
		if (load > LAYOUT_FIRMWARE_END)
			return -BOOT_ERR_NO_ROOM;
		load = BOOT_ALIGN_UP(load, align);
	}
	if (boot_check_range(mem, load, need, low_end) < 0)
		return -BOOT_ERR_NO_ROOM;

	ret = boot_file_load(f, mem, pm_off, pm_size, load);
	if (ret < 0)
		return ret;

	memset(zp, 0, sizeof(zp));
	memcpy(zp + BP_HDR, hdr + BP_HDR, hdr_end - BP_HDR);
	boot_put32(zp + BP_CODE32_START, (uint32_t)load);
	return linux_finish_zero_page(ctx, zp, load + need, load + 0x200);
}
