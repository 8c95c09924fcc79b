/* test_fw_cfg: drives the fw_cfg ports as SeaBIOS src/fw/paravirt.c does
 * (signature, ID, file directory lookup, item reads on the data port, DMA
 * reads into guest memory) and checks the refusals: bad DMA addresses and
 * the write channel set the error bit, out-of-range selectors read zeros,
 * random descriptors never crash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw_cfg.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/bus.h"
#include "vmm/memory.h"

#define BASE 0x510

static struct bus pio;
static struct guest_memory mem;

static void sel(uint16_t key) { test_fw_cfg_select(&pio, BASE, key); }
static void readn(void *dst, size_t n) { test_fw_cfg_read(&pio, BASE, dst, n); }

static uint32_t bswap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

/* SeaBIOS's qemu_cfg_dma_transfer: descriptor at desc, outl of the
 * big-endian low address to 0x518. Returns the control word afterwards. */
static uint32_t dma(uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *d = guest_memory_ptr(&mem, desc, 16);
	uint32_t c = bswap32(control), l = bswap32(len);
	uint64_t a = __builtin_bswap64(addr);
	memcpy(d, &c, 4);
	memcpy(d + 4, &l, 4);
	memcpy(d + 8, &a, 8);
	uint32_t lo = bswap32((uint32_t)desc);
	CHECK_EQ(bus_write(&pio, BASE + 8, &lo, 4), 0);
	memcpy(&c, d, 4);
	return bswap32(c);
}

/* FW_CFG_FILE_DIR lookup as qemu_romfile_init(): selector or -1, size in *size. */
static int lookup(const char *name, uint32_t *size) { return test_fw_cfg_find(&pio, BASE, name, size); }

int main(void)
{
	CHECK_EQ(guest_memory_init(&mem, 16 << 20), 0);
	CHECK_EQ(bus_init(&pio, "pio"), 0);
	struct fw_cfg *fw = NULL;
	CHECK_EQ(fw_cfg_create(&fw, &pio, BASE, &mem), 0);
	struct fw_cfg *dup;
	CHECK_EQ(fw_cfg_create(&dup, &pio, BASE, &mem), -EEXIST);

	/* signature and ID over the data port */
	char sig[5] = { 0 };
	sel(FW_CFG_SIGNATURE);
	readn(sig, 4);
	CHECK_STR(sig, "QEMU");
	uint32_t id;
	sel(FW_CFG_ID);
	readn(&id, 4);
	CHECK_EQ(id, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	/* past the end of an item: zeros */
	uint8_t b = 0xaa;
	readn(&b, 1);
	CHECK_EQ(b, 0);
	/* DMA register signature, as 8 and as 4+4 bytes */
	uint64_t dsig = 0;
	CHECK_EQ(bus_read(&pio, BASE + 4, &dsig, 8), 0);
	CHECK_MEM(&dsig, "QEMU CFG", 8);
	uint32_t half = 0;
	CHECK_EQ(bus_read(&pio, BASE + 8, &half, 4), 0);
	CHECK_MEM(&half, " CFG", 4);
	/* 0x512/0x513 are not ours */
	CHECK_EQ(bus_read(&pio, BASE + 2, &half, 2), -ENOENT);

	/* items and files */
	uint8_t e820[40];
	for (unsigned i = 0; i < sizeof(e820); i++)
		e820[i] = (uint8_t)(i * 7 + 1);
	const char order[] = "/pci@i0cf8/scsi@3/channel@0/disk@0,0\n";
	CHECK_EQ(fw_cfg_add_i16(fw, FW_CFG_NB_CPUS, 4), 0);
	CHECK_EQ(fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, 16 << 20), 0);
	CHECK_EQ(fw_cfg_add_i32(fw, FW_CFG_IRQ0_OVERRIDE, 1), 0);
	CHECK_EQ(fw_cfg_add_file(fw, "etc/e820", e820, sizeof(e820)), FW_CFG_FILE_FIRST);
	CHECK_EQ(fw_cfg_add_file(fw, "bootorder", order, strlen(order)), FW_CFG_FILE_FIRST + 1);
	CHECK_EQ(fw_cfg_add_file(fw, "etc/empty", NULL, 0), FW_CFG_FILE_FIRST + 2);
	CHECK_EQ(fw_cfg_add_file(fw, "bootorder", order, 1), -EEXIST);
	CHECK_EQ(fw_cfg_add_file(fw, "0123456789012345678901234567890123456789012345678901234", "", 0), FW_CFG_FILE_FIRST + 3);
	CHECK_EQ(fw_cfg_add_file(fw, "01234567890123456789012345678901234567890123456789012345", "", 0), -ENAMETOOLONG);
	CHECK_EQ(fw_cfg_add_file(fw, "", "", 0), -EINVAL);
	CHECK_EQ(fw_cfg_add_item(fw, FW_CFG_FILE_FIRST, "x", 1), -EINVAL);
	CHECK_EQ(fw_cfg_add_item(fw, FW_CFG_SIGNATURE, "x", 1), -EINVAL);
	CHECK_EQ(fw_cfg_add_item(fw, FW_CFG_ID, "x", 1), -EINVAL);

	uint16_t ncpu = 0;
	sel(FW_CFG_NB_CPUS);
	readn(&ncpu, 2);
	CHECK_EQ(ncpu, 4);
	uint64_t ram = 0;
	sel(FW_CFG_RAM_SIZE);
	readn(&ram, 8);
	CHECK_EQ(ram, 16 << 20);
	uint32_t irq0 = 0;
	sel(FW_CFG_IRQ0_OVERRIDE);
	readn(&irq0, 4);
	CHECK_EQ(irq0, 1);

	uint32_t size = 0;
	int s = lookup("etc/e820", &size);
	CHECK_EQ(s, FW_CFG_FILE_FIRST);
	CHECK_EQ(size, sizeof(e820));
	uint8_t got[64];
	sel((uint16_t)s);
	readn(got, sizeof(e820));
	CHECK_MEM(got, e820, sizeof(e820));
	s = lookup("bootorder", &size);
	CHECK_EQ(s, FW_CFG_FILE_FIRST + 1);
	CHECK_EQ(size, strlen(order));
	CHECK_EQ(lookup("etc/nonexistent", &size), -1);

	/* selectors out of range, or unused, read zeros */
	uint16_t bad[] = { 0x3fff, FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS, FW_CFG_FILE_FIRST + 10, 0x7f, 0xbfff, 0xffff };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t z = 0xdeadbeef;
		sel(bad[i]);
		readn(&z, 4);
		CHECK_EQ(z, 0);
	}
	/* the write channel bit does not change what is read */
	sel(FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL);
	memset(sig, 0, sizeof(sig));
	readn(sig, 4);
	CHECK_STR(sig, "QEMU");
	/* a byte write to the selector is not a selection */
	uint8_t one = FW_CFG_ID;
	sel(FW_CFG_SIGNATURE);
	CHECK_EQ(bus_write(&pio, BASE, &one, 1), 0);
	memset(sig, 0, sizeof(sig));
	readn(sig, 4);
	CHECK_STR(sig, "QEMU");

	/* DMA read of a file into guest memory */
	uint8_t *dst = guest_memory_ptr(&mem, 0x2000, 0x100);
	memset(dst, 0xcc, 0x100);
	uint32_t ctl = dma(0x1000, (uint32_t)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			   sizeof(e820), 0x2000);
	CHECK_EQ(ctl, 0);
	CHECK_MEM(dst, e820, sizeof(e820));
	CHECK_EQ(dst[sizeof(e820)], 0xcc);
	/* skip then read continues at the offset; past the end reads zeros */
	ctl = dma(0x1000, (uint32_t)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 30, 0);
	CHECK_EQ(ctl, 0);
	memset(dst, 0xcc, 0x100);
	ctl = dma(0x1000, FW_CFG_DMA_CTL_READ, 16, 0x2000);
	CHECK_EQ(ctl, 0);
	CHECK_MEM(dst, e820 + 30, 10);
	CHECK(dst[10] == 0 && dst[15] == 0 && dst[16] == 0xcc);
	/* the data port follows the same position */
	ctl = dma(0x1000, (uint32_t)FW_CFG_ID << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 1, 0);
	CHECK_EQ(ctl, 0);
	readn(&b, 1);
	CHECK_EQ(b, 0);
	/* signature by DMA with a 64-bit address write (both halves at once) */
	memset(dst, 0xcc, 8);
	uint8_t *d = guest_memory_ptr(&mem, 0x1000, 16);
	uint32_t c = bswap32(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ);
	uint32_t l = bswap32(4);
	uint64_t a = __builtin_bswap64(0x2000);
	memcpy(d, &c, 4);
	memcpy(d + 4, &l, 4);
	memcpy(d + 8, &a, 8);
	uint64_t desc = __builtin_bswap64(0x1000);
	CHECK_EQ(bus_write(&pio, BASE + 4, &desc, 8), 0);
	CHECK_MEM(d, "\0\0\0\0", 4);
	CHECK_MEM(dst, "QEMU", 4);
	/* high half then low half */
	memcpy(d, &c, 4);
	uint32_t hi = 0, lo = bswap32(0x1000);
	memset(dst, 0, 4);
	CHECK_EQ(bus_write(&pio, BASE + 4, &hi, 4), 0);
	CHECK_EQ(bus_write(&pio, BASE + 8, &lo, 4), 0);
	CHECK_MEM(d, "\0\0\0\0", 4);
	CHECK_MEM(dst, "QEMU", 4);

	/* bad destination addresses set the error bit and write nothing */
	uint64_t bad_addrs[] = { 0x1000000, 0xfffff0, 0xffffffffffffff00ULL, 0xfee00000 };
	for (unsigned i = 0; i < 4; i++) {
		ctl = dma(0x1000, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			  0x100, bad_addrs[i]);
		CHECK_EQ(ctl, FW_CFG_DMA_CTL_ERROR);
	}
	/* a zero fill (invalid selector) that leaves RAM fails too */
	ctl = dma(0x1000, 0x3fff << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 0xffffffff, 0x2000);
	CHECK_EQ(ctl, FW_CFG_DMA_CTL_ERROR);
	/* invalid selector by DMA reads zeros */
	memset(dst, 0xcc, 0x100);
	ctl = dma(0x1000, 0x3fff << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 0x80, 0x2000);
	CHECK_EQ(ctl, 0);
	CHECK(dst[0] == 0 && dst[0x7f] == 0 && dst[0x80] == 0xcc);
	/* the write channel is refused and changes nothing */
	ctl = dma(0x1000, (uint32_t)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, 0x2000);
	CHECK_EQ(ctl, FW_CFG_DMA_CTL_ERROR);
	sel(FW_CFG_FILE_FIRST);
	readn(got, 4);
	CHECK_MEM(got, e820, 4);
	/* a descriptor outside RAM: nothing happens, nothing crashes */
	hi = bswap32(0x12345);
	lo = bswap32(0x678);
	CHECK_EQ(bus_write(&pio, BASE + 4, &hi, 4), 0);
	CHECK_EQ(bus_write(&pio, BASE + 8, &lo, 4), 0);
	lo = bswap32((16 << 20) - 8);       /* straddles the end of RAM */
	CHECK_EQ(bus_write(&pio, BASE + 8, &lo, 4), 0);

	/* random descriptors (ASan build catches stray accesses) */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		uint32_t rc = (uint32_t)rand() << 1 ^ (uint32_t)rand();
		uint32_t rl = (uint32_t)rand() % 3 == 0 ? (uint32_t)rand() : (uint32_t)rand() % 512;
		uint64_t ra = (uint64_t)rand() % 3 == 0 ? (uint64_t)rand() << 20 : 0x3000 + (uint64_t)rand() % 0x100000;
		ctl = dma(0x1000, rc, rl, ra);
		CHECK(ctl == 0 || ctl == FW_CFG_DMA_CTL_ERROR);
	}

	/* file slots run out cleanly */
	char name[32];
	int r = 0;
	for (unsigned i = 0; i < FW_CFG_FILE_SLOTS + 2 && r >= 0; i++) {
		snprintf(name, sizeof(name), "etc/fill-%u", i);
		r = fw_cfg_add_file(fw, name, name, strlen(name));
	}
	CHECK_EQ(r, -ENOSPC);
	s = lookup("etc/fill-0", &size);
	CHECK_EQ(s, FW_CFG_FILE_FIRST + 4);
	CHECK_EQ(size, strlen("etc/fill-0"));

	fw_cfg_destroy(fw);
	CHECK_EQ(bus_read(&pio, BASE, &half, 1), -ENOENT);
	bus_destroy(&pio);
	guest_memory_destroy(&mem);
	return check_done();
}
