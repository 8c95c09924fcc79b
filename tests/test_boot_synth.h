/* Synthetic kernels for the boot loader tests: a minimal bzImage, ELF64
 * vmlinux (with or without a PVH note), multiboot ELF32 and a.out-kludge
 * images, written to temporary files; plus the corruption loop that checks
 * no variant crashes the loaders. Shared by tests/test_boot_*.c. */
#ifndef VMM_TESTS_TEST_BOOT_SYNTH_H
#define VMM_TESTS_TEST_BOOT_SYNTH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "boot/boot.h"
#include "vmm/memory.h"

struct synth {
	uint8_t *buf;
	size_t len;
};

static inline void sput16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void sput32(uint8_t *p, uint32_t v) { sput16(p, (uint16_t)v); sput16(p + 2, (uint16_t)(v >> 16)); }
static inline void sput64(uint8_t *p, uint64_t v) { sput32(p, (uint32_t)v); sput32(p + 4, (uint32_t)(v >> 32)); }
static inline uint16_t sget16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t sget32(const uint8_t *p) { return (uint32_t)sget16(p) | (uint32_t)sget16(p + 2) << 16; }
static inline uint64_t sget64(const uint8_t *p) { return sget32(p) | (uint64_t)sget32(p + 4) << 32; }

static inline struct synth synth_alloc(size_t len)
{
	struct synth s = { calloc(1, len), len };
	if (!s.buf) {
		perror("calloc");
		exit(2);
	}
	return s;
}

/* Writes bytes to a fresh temporary file; returns its malloc'd path. */
static inline char *synth_write_file(const void *buf, size_t len)
{
	char *path = strdup("/tmp/vmm-boot-test-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len)) {
		perror("temp file");
		exit(2);
	}
	close(fd);
	return path;
}

/* The loader tests' initrd: fills data (len bytes) with the pattern
 * i * mul + add and writes it to a temporary file; returns its path, for
 * synth_remove_file(). */
static inline char *synth_initrd(uint8_t *data, size_t len, unsigned mul, unsigned add)
{
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * mul + add);
	return synth_write_file(data, len);
}

/* Unlinks a file synth_write_file() made and frees its path. */
static inline void synth_remove_file(char *path)
{
	unlink(path);
	free(path);
}

/* boot_load() of s written to a temporary file as cfg.kernel (removed
 * afterwards), after filling fill_len bytes of RAM at fill_gpa with 0xee so
 * that what the loader leaves alone shows; *failed naming that file reads
 * "KERNEL". path: NULL, or where to keep the file's malloc'd name (a
 * multiboot loader passes it in the command line). */
static inline int synth_load(struct guest_memory *mem, const struct synth *s, struct boot_config cfg,
			     uint64_t fill_gpa, uint64_t fill_len, struct boot_cpu_state *cpu,
			     const char **failed, char **path)
{
	char *kpath = synth_write_file(s->buf, s->len);
	cfg.kernel = kpath;
	memset(guest_memory_ptr(mem, fill_gpa, fill_len), 0xee, fill_len);
	int r = boot_load(mem, &cfg, cpu, failed);
	if (*failed == kpath)
		*failed = "KERNEL";
	unlink(kpath);
	if (path)
		*path = kpath;
	else
		free(kpath);
	return r;
}

/* Rewrites in place (no O_TRUNC: ext4 flushes files truncated to 0 on close,
 * which would make the corruption loops wait on the disk). */
static inline void synth_rewrite_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || (len && pwrite(fd, buf, len, 0) != (ssize_t)len) || ftruncate(fd, (off_t)len) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* bzImage: 4 setup sectors + boot sector, then pm_size bytes of payload whose
 * first byte at 0x200 is a marker. Protocol 2.15, relocatable, 64-bit. */
#define SYNTH_BZ_SETUP_SECTS 4
static inline struct synth synth_bzimage(size_t pm_size)
{
	size_t off = (SYNTH_BZ_SETUP_SECTS + 1) * 512;
	struct synth s = synth_alloc(off + pm_size);
	uint8_t *b = s.buf;
	b[0x1f1] = SYNTH_BZ_SETUP_SECTS;
	sput16(b + 0x1fe, 0xAA55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;                      /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	sput16(b + 0x206, 0x020f);
	b[0x211] = 0x01;                      /* LOADED_HIGH */
	sput32(b + 0x214, 0x100000);
	sput32(b + 0x22c, 0x7fffffff);        /* initrd_addr_max */
	sput32(b + 0x230, 0x200000);          /* kernel_alignment */
	b[0x234] = 1;                         /* relocatable */
	sput16(b + 0x236, 0x3);               /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	sput32(b + 0x238, 2048);              /* cmdline_size */
	sput64(b + 0x258, 0x1000000);         /* pref_address */
	sput32(b + 0x260, (uint32_t)(pm_size + 0x100000)); /* init_size */
	for (size_t i = 0; i < pm_size; i++)
		b[off + i] = (uint8_t)(i * 7 + 1);
	return s;
}

/* ELF64 vmlinux: text at paddr 0x1000000 (vaddr 0xffffffff81000000) with
 * 0x2000 file bytes, data+bss at 0x1200000 (0x1000 file, 0x3000 mem), entry
 * phys 0x1000100; optional PT_NOTE with the PVH entry 0x1000040 (8 bytes). */
#define SYNTH_ELF_TEXT   0x1000000ULL
#define SYNTH_ELF_DATA   0x1200000ULL
#define SYNTH_ELF_ENTRY  0x1000100ULL
#define SYNTH_ELF_PVH    0x1000040ULL
static inline struct synth synth_elf64(int pvh_note, uint64_t entry)
{
	size_t text_off = 0x1000, data_off = 0x3000, note_off = 0x400;
	struct synth s = synth_alloc(0x4000);
	uint8_t *b = s.buf;
	memcpy(b, "\177ELF", 4);
	b[4] = 2; b[5] = 1; b[6] = 1;
	sput16(b + 16, 2);                    /* ET_EXEC */
	sput16(b + 18, 62);                   /* EM_X86_64 */
	sput32(b + 20, 1);
	sput64(b + 24, entry);
	sput64(b + 32, 64);                   /* phoff */
	sput16(b + 52, 64);
	sput16(b + 54, 56);
	sput16(b + 56, pvh_note ? 3 : 2);
	uint8_t *ph = b + 64;
	sput32(ph, 1); sput32(ph + 4, 5);
	sput64(ph + 8, text_off); sput64(ph + 16, 0xffffffff81000000ULL); sput64(ph + 24, SYNTH_ELF_TEXT);
	sput64(ph + 32, 0x2000); sput64(ph + 40, 0x2000); sput64(ph + 48, 0x1000);
	ph += 56;
	sput32(ph, 1); sput32(ph + 4, 6);
	sput64(ph + 8, data_off); sput64(ph + 16, 0xffffffff81200000ULL); sput64(ph + 24, SYNTH_ELF_DATA);
	sput64(ph + 32, 0x1000); sput64(ph + 40, 0x3000); sput64(ph + 48, 0x1000);
	if (pvh_note) {
		ph += 56;
		sput32(ph, 4);
		sput64(ph + 8, note_off); sput64(ph + 32, 24); sput64(ph + 40, 24);
		uint8_t *n = b + note_off;
		sput32(n, 4); sput32(n + 4, 8); sput32(n + 8, 18);
		memcpy(n + 12, "Xen", 4);
		sput64(n + 16, SYNTH_ELF_PVH);
	}
	for (size_t i = 0; i < 0x2000; i++)
		b[text_off + i] = (uint8_t)(i ^ 0x5a);
	for (size_t i = 0; i < 0x1000; i++)
		b[data_off + i] = 0xd0;
	return s;
}

static inline void synth_mb_header(uint8_t *h, uint32_t flags)
{
	sput32(h, 0x1BADB002u);
	sput32(h + 4, flags);
	sput32(h + 8, (uint32_t)-(0x1BADB002u + flags));
}

/* Multiboot ELF32: one PT_LOAD of 0x1000 file bytes at 0x100000, memsz
 * 0x2000, entry 0x100010, header at file offset 0x1000 (start of segment). */
static inline struct synth synth_mb_elf32(void)
{
	struct synth s = synth_alloc(0x2000);
	uint8_t *b = s.buf;
	memcpy(b, "\177ELF", 4);
	b[4] = 1; b[5] = 1; b[6] = 1;
	sput16(b + 16, 2);
	sput16(b + 18, 3);                    /* EM_386 */
	sput32(b + 20, 1);
	sput32(b + 24, 0x100010);
	sput32(b + 28, 52);
	sput16(b + 40, 52);
	sput16(b + 42, 32);
	sput16(b + 44, 1);
	uint8_t *ph = b + 52;
	sput32(ph, 1); sput32(ph + 4, 0x1000); sput32(ph + 8, 0x100000); sput32(ph + 12, 0x100000);
	sput32(ph + 16, 0x1000); sput32(ph + 20, 0x2000); sput32(ph + 24, 7); sput32(ph + 28, 0x1000);
	synth_mb_header(b + 0x1000, 0x3);     /* page-align modules, memory info */
	for (size_t i = 12; i < 0x1000; i++)
		b[0x1000 + i] = 0x90;
	return s;
}

/* a.out kludge: flat image with the header at file offset 0x40, loaded at
 * 0x200000 (file offset 0), load_end 0x201800, bss_end 0x204000, entry 0x200100. */
static inline struct synth synth_mb_kludge(void)
{
	struct synth s = synth_alloc(0x2000);
	uint8_t *b = s.buf;
	for (size_t i = 0; i < s.len; i++)
		b[i] = (uint8_t)(0xc3 ^ i);
	uint8_t *h = b + 0x40;
	synth_mb_header(h, 0x00010003);
	sput32(h + 12, 0x200040);             /* header_addr */
	sput32(h + 16, 0x200000);             /* load_addr */
	sput32(h + 20, 0x201800);             /* load_end_addr */
	sput32(h + 24, 0x204000);             /* bss_end_addr */
	sput32(h + 28, 0x200100);             /* entry_addr */
	return s;
}

/* Corrupts copies of s (a few random bytes, biased to the first 0x300 and
 * to header fields, sometimes a truncation) and loads each with cfg's
 * kernel replaced; every result must be 0 or a known -BOOT_ERR_* code.
 * Returns the number of bad results. */
static inline int synth_corrupt_loop(const struct synth *s, const struct boot_config *base,
				     unsigned iterations, unsigned seed)
{
	struct guest_memory mem;
	if (guest_memory_init(&mem, 64 << 20) < 0) {
		perror("guest_memory_init");
		exit(2);
	}
	char *path = synth_write_file(s->buf, s->len);
	uint8_t *v = malloc(s->len);
	int bad = 0;
	srand(seed);
	for (unsigned it = 0; it < iterations; it++) {
		memcpy(v, s->buf, s->len);
		unsigned nflip = 1 + (unsigned)rand() % 8;
		for (unsigned k = 0; k < nflip; k++) {
			size_t pos = rand() % 2 ? (size_t)rand() % (s->len < 0x300 ? s->len : 0x300)
						: (size_t)rand() % s->len;
			switch (rand() % 4) {
			case 0: v[pos] = (uint8_t)rand(); break;
			case 1: v[pos] = 0xff; break;
			case 2: v[pos] = 0; break;
			default: v[pos] ^= (uint8_t)(1u << (rand() % 8)); break;
			}
		}
		size_t len = rand() % 8 == 0 ? (size_t)rand() % s->len : s->len;
		synth_rewrite_file(path, v, len);
		struct boot_config cfg = *base;
		cfg.kernel = path;
		struct boot_cpu_state cpu;
		const char *failed = NULL;
		int r = boot_load(&mem, &cfg, &cpu, &failed);
		if (r > 0 || r <= -BOOT_ERR_MAX || (r < 0 && !boot_strerror(r))) {
			fprintf(stderr, "iteration %u: unexpected result %d\n", it, r);
			bad++;
		}
		/* A kernel accepted despite the damage still starts in loaded RAM. */
		if (r == 0 && (!guest_memory_ptr(&mem, cpu.rip, 1) || cpu.mode == BOOT_CPU_RESET)) {
			fprintf(stderr, "iteration %u: entry 0x%llx not in RAM\n", it, (unsigned long long)cpu.rip);
			bad++;
		}
		if (r < 0 && !failed) {
			fprintf(stderr, "iteration %u: error %d names no file\n", it, r);
			bad++;
		}
	}
	unlink(path);
	free(path);
	free(v);
	guest_memory_destroy(&mem);
	return bad;
}

#endif
