/* Small helpers several host-side unit tests share, header-only so each
 * test counts its CHECKs itself (tests/check.h): little-endian field reads
 * and byte checksums of guest tables (ACPI 6.5 5.2, MP 1.4 4), port I/O
 * through a bus, a vm_control that counts requests, the fw_cfg port
 * interface (QEMU docs/specs/fw_cfg.rst: selector, data byte), and files
 * for the image trees tests pack with xorriso. */
#ifndef VMM_TESTS_TEST_UTIL_H
#define VMM_TESTS_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/fw_cfg.h"
#include "devices/vm_control.h"
#include "tests/check.h"
#include "vmm/bus.h"

/* The n-byte little-endian value at p (n <= 8). */
static inline uint64_t test_get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The 8-bit sum of n bytes: 0 for a table whose checksum is right. */
static inline uint8_t test_sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* One port I/O access of size bytes (1, 2, 4) at port through bus b, as
 * a guest's in/out would make it; reads of unclaimed ports give all-ones. */
static inline uint64_t test_pio_in(struct bus *b, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	bus_read(b, port, &v, size);
	return v;
}

static inline void test_pio_out(struct bus *b, uint16_t port, unsigned size, uint64_t v)
{
	bus_write(b, port, &v, size);
}

/* A vm_control (devices/vm_control.h) that counts what a device asked of
 * the VM's lifecycle: `static struct test_ctl_rec rec; static const struct
 * vm_control ctl = TEST_CTL(&rec);`. status is the last exit's. */
struct test_ctl_rec {
	int resets, poweroffs, exits, status;
};

static inline void test_ctl_reset(void *o) { ((struct test_ctl_rec *)o)->resets++; }
static inline void test_ctl_poweroff(void *o) { ((struct test_ctl_rec *)o)->poweroffs++; }
static inline void test_ctl_exit(void *o, int status)
{
	struct test_ctl_rec *r = o;
	r->exits++;
	r->status = status;
}

#define TEST_CTL(rec) { test_ctl_reset, test_ctl_poweroff, test_ctl_exit, (rec) }

/* fw_cfg at port base: select item key (checked), read n data bytes
 * (each access checked). */
static inline void test_fw_cfg_select(struct bus *pio, uint16_t base, uint16_t key)
{
	CHECK_EQ(bus_write(pio, base, &key, 2), 0);
}

static inline void test_fw_cfg_read(struct bus *pio, uint16_t base, void *dst, size_t n)
{
	uint8_t *p = dst;
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(bus_read(pio, base + 1, &p[i], 1), 0);
}

/* Looks name up in FW_CFG_FILE_DIR as SeaBIOS's qemu_romfile_init() does:
 * returns its selector, or -1, and its size in *size. */
static inline int test_fw_cfg_find(struct bus *pio, uint16_t base, const char *name, uint32_t *size)
{
	uint32_t count;
	test_fw_cfg_select(pio, base, FW_CFG_FILE_DIR);
	test_fw_cfg_read(pio, base, &count, 4);
	count = __builtin_bswap32(count);
	for (uint32_t i = 0; i < count; i++) {
		struct { uint32_t size; uint16_t select; uint16_t reserved; char name[56]; } e;
		test_fw_cfg_read(pio, base, &e, sizeof(e));
		if (strcmp(e.name, name) == 0) {
			*size = __builtin_bswap32(e.size);
			return __builtin_bswap16(e.select);
		}
	}
	return -1;
}

/* Writes len bytes of data to root/rel, creating the directories of rel
 * below root on the way; exits with status 2 when it cannot. */
static inline void test_put_file(const char *root, const char *rel, const void *data, size_t len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	FILE *f = fopen(p, "w");
	if (!f || fwrite(data, 1, len, f) != len) { perror(p); exit(2); }
	fclose(f);
}

#endif
