/* Internal interface between boot.c (dispatcher, file access, command line
 * and initrd placement) and the per-format loaders linux.c, elf.c and
 * multiboot.c, and the little-endian byte helpers the table builders
 * (acpi.c, mptable.c) use too. Not part of the public boot/boot.h interface. */
#ifndef VMM_BOOT_LOADER_H
#define VMM_BOOT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"

struct guest_memory;

/* One kernel, initrd or module file; every read is checked against size. */
struct boot_file {
	int fd;
	uint64_t size;
	const char *path;
};

/* What every loader receives. rsdp is the ACPI RSDP address (0: none). */
struct boot_ctx {
	struct guest_memory *mem;
	const struct boot_config *cfg;
	struct boot_cpu_state *cpu;
	const char **failed_path;
	uint64_t rsdp;
};

/* Opens path read-only and records its size; -BOOT_ERR_IO (errno kept). */
int boot_file_open(struct boot_file *f, const char *path);
void boot_file_close(struct boot_file *f);
/* Reads [off, off+len) of the file; -BOOT_ERR_TRUNCATED past EOF, -BOOT_ERR_IO. */
int boot_file_read(const struct boot_file *f, uint64_t off, void *buf, uint64_t len);
/* Copies [off, off+len) of the file to guest [gpa, gpa+len). Errors:
 * -BOOT_ERR_TRUNCATED past EOF, -BOOT_ERR_NO_ROOM when not RAM, -BOOT_ERR_IO. */
int boot_file_load(const struct boot_file *f, struct guest_memory *mem,
		   uint64_t off, uint64_t len, uint64_t gpa);
/* Records errno for boot_strerror(-BOOT_ERR_IO). */
void boot_set_errno(int err);

/* Checks that [gpa, gpa+len) is RAM, lies in [1 MiB, limit) and does not
 * wrap; returns 0 or -BOOT_ERR_NO_ROOM. */
int boot_check_range(const struct guest_memory *mem, uint64_t gpa, uint64_t len, uint64_t limit);

/* Writes "prefix cmdline" (either may be NULL/empty) NUL-terminated at
 * LAYOUT_CMDLINE. max is the longest accepted length without the NUL.
 * Returns the length, or -BOOT_ERR_CMDLINE_TOO_LONG / -BOOT_ERR_NO_ROOM. */
int boot_write_cmdline(struct guest_memory *mem, const char *prefix, const char *cmdline, uint64_t max);

/* Loads the file at path page-aligned as high as possible inside [lo, hi).
 * Returns 0 with *addr and *size set, -BOOT_ERR_IO, or -BOOT_ERR_NO_ROOM. */
int boot_load_high(struct guest_memory *mem, const char *path, uint64_t lo, uint64_t hi,
		   uint64_t *addr, uint64_t *size);

/* What elf_load_segments() found. Addresses are guest-physical. */
struct elf_info {
	int is64;
	uint64_t entry;         /* e_entry, translated from virtual when needed */
	uint64_t start, end;    /* lowest p_paddr, highest p_paddr + p_memsz */
	int has_pvh;            /* XEN_ELFNOTE_PHYS32_ENTRY present */
	uint64_t pvh_entry;
};

/* Parses an ELF32 or ELF64 x86 executable, loads every PT_LOAD at p_paddr
 * (file bytes, then zeroes to p_memsz; each inside RAM, at or above 1 MiB,
 * below limit) and collects the entry points. Returns 0, -BOOT_ERR_FORMAT
 * (not ELF), -BOOT_ERR_BAD_HEADER, -BOOT_ERR_TRUNCATED, -BOOT_ERR_NO_ROOM. */
int elf_load_segments(struct guest_memory *mem, const struct boot_file *f, uint64_t limit,
		      struct elf_info *info);

/* Per-format loaders. Each fills ctx->cpu completely and returns 0 or
 * -BOOT_ERR_*, setting *ctx->failed_path on error. */
int linux_load_bzimage(struct boot_ctx *ctx, const struct boot_file *f);
int elf_load_kernel(struct boot_ctx *ctx, const struct boot_file *f);
int multiboot_load(struct boot_ctx *ctx, const struct boot_file *f, uint64_t hdr_off);

/* Finds a valid multiboot v1 header in the first 8 KiB: returns 1 and its
 * offset, 0 when there is none, or a negative error. */
int multiboot_probe(const struct boot_file *f, uint64_t *hdr_off);

/* Linux zero page for the 64-bit entry (bzImage and ELF vmlinux): zp holds
 * the setup header at 0x1f1 already (copied or synthesised); this adds the
 * command line, initrd (above kernel_end), e820 table, writes the page at
 * LAYOUT_ZERO_PAGE and sets up GDT, page tables and the LONG64 CPU state
 * with rip = entry. */
int linux_finish_zero_page(struct boot_ctx *ctx, uint8_t *zp, uint64_t kernel_end, uint64_t entry);

#define BOOT_ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define BOOT_ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

static inline uint16_t boot_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t boot_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t boot_get64(const uint8_t *p) { return boot_get32(p) | (uint64_t)boot_get32(p + 4) << 32; }
static inline void boot_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void boot_put32(uint8_t *p, uint32_t v) { boot_put16(p, (uint16_t)v); boot_put16(p + 2, (uint16_t)(v >> 16)); }
static inline void boot_put64(uint8_t *p, uint64_t v) { boot_put32(p, (uint32_t)v); boot_put32(p + 4, (uint32_t)(v >> 32)); }

/* Writes the n low bytes of v at p, little-endian (table fields of any width). */
static inline void boot_put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The byte that makes the n bytes at p sum to 0 modulo 256, as the ACPI
 * (ACPI 6.4 5.2.5.3, 5.2.6) and MP table (MP spec 4.1, 4.2) checksums want
 * when their own field is 0 while summing. */
static inline uint8_t boot_checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)(0 - s);
}

#endif
