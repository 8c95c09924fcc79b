/* boot/linux.c, e820.c, pagetables.c: a synthetic bzImage is placed per
 * boot.rst (pref_address or aligned fallback, rip = load + 0x200), the zero
 * page carries the setup header, cmdline, initrd and e820 map, and every
 * malformed header gives its exact error code. */
#include <errno.h>

#include "tests/check.h"
#include "tests/test_boot_synth.h"
#include "boot/layout.h"
#include "boot/e820.h"

#define MEM_SIZE (64ULL << 20)
#define PM_SIZE 0x1000
#define PM_OFF ((SYNTH_BZ_SETUP_SECTS + 1) * 512)
#define INITRD_SIZE 10000

static struct guest_memory mem;
static char *initrd_path;
static uint8_t initrd_data[INITRD_SIZE];

static int load_bz(const struct synth *s, const char *cmdline, const char *initrd,
		   struct boot_cpu_state *cpu, const char **failed)
{
	struct boot_config cfg = { .initrd = initrd, .cmdline = cmdline, .ncpus = 2, .pci = 1 };
	return synth_load(&mem, s, cfg, 0, 0x100000, cpu, failed, NULL);
}

static uint8_t *gp(uint64_t gpa, uint64_t len)
{
	return guest_memory_ptr(&mem, gpa, len);
}

static void test_good(void)
{
	struct synth s = synth_bzimage(PM_SIZE);
	struct boot_cpu_state cpu;
	const char *failed = NULL;
	int r = load_bz(&s, "console=ttyS0 root=/dev/ram", initrd_path, &cpu, &failed);
	CHECK_EQ(r, 0);
	CHECK_EQ(cpu.mode, BOOT_CPU_LONG64);
	CHECK_EQ(cpu.rip, 0x1000000 + 0x200);       /* pref_address + 0x200 */
	CHECK_EQ(cpu.rsi, LAYOUT_ZERO_PAGE);
	CHECK_EQ(cpu.rsp, LAYOUT_BOOT_STACK);
	CHECK_EQ(cpu.cr3, LAYOUT_PML4);
	CHECK_EQ(cpu.cs_sel, 0x10);
	CHECK_EQ(cpu.ds_sel, 0x18);
	CHECK_EQ(cpu.gdt_base, LAYOUT_BOOT_GDT);
	CHECK_EQ(cpu.gdt_limit, 31);
	CHECK_MEM(gp(0x1000000, PM_SIZE), s.buf + PM_OFF, PM_SIZE);

	const uint8_t *zp = gp(LAYOUT_ZERO_PAGE, 4096);
	CHECK_EQ(sget16(zp + 0x1fe), 0xAA55);
	CHECK_MEM(zp + 0x202, "HdrS", 4);
	CHECK_EQ(sget16(zp + 0x206), 0x020f);
	CHECK_EQ(zp[0x210], 0xff);                   /* type_of_loader */
	CHECK_EQ(sget32(zp + 0x214), 0x1000000);     /* code32_start */
	CHECK_EQ(sget32(zp + 0x228), LAYOUT_CMDLINE);
	CHECK_EQ(sget32(zp + 0x238), 2048);          /* cmdline_size copied */
	CHECK_STR((const char *)gp(LAYOUT_CMDLINE, 64), "console=ttyS0 root=/dev/ram");
	CHECK_EQ(zp[0x1f1], SYNTH_BZ_SETUP_SECTS);
	/* Nothing from past the setup header end (0x26c) is copied. */
	CHECK_EQ(zp[0x26c], 0);
	/* ACPI and MP tables are built for every kernel, and the RSDP passed on. */
	CHECK_EQ(sget64(zp + 0x70), LAYOUT_ACPI_RSDP);
	CHECK_MEM(gp(LAYOUT_ACPI_RSDP, 8), "RSD PTR ", 8);
	CHECK_MEM(gp(LAYOUT_EBDA_START, 4), "_MP_", 4);
	CHECK_EQ(sget16(gp(0x40e, 2)), LAYOUT_EBDA_START >> 4);   /* BDA: EBDA segment */
	CHECK_EQ(sget16(gp(0x413, 2)), 639);                     /* BDA: base memory KiB */

	/* initrd: page aligned, as high as possible below the end of RAM. */
	uint32_t img = sget32(zp + 0x218), size = sget32(zp + 0x21c);
	CHECK_EQ(size, INITRD_SIZE);
	CHECK_EQ(img % 4096, 0);
	CHECK_EQ(img, (MEM_SIZE - INITRD_SIZE) & ~0xfffULL);
	CHECK(img >= 0x1000000 + PM_SIZE + 0x100000);   /* above load + init_size */
	CHECK_MEM(gp(img, INITRD_SIZE), initrd_data, INITRD_SIZE);

	/* e820 */
	unsigned n = zp[0x1e8];
	CHECK_EQ(n, 8);
	const uint8_t *e = zp + 0x2d0;
	CHECK_EQ(sget64(e), 0); CHECK_EQ(sget64(e + 8), 0x9fc00); CHECK_EQ(sget32(e + 16), 1);
	e += 20;
	CHECK_EQ(sget64(e), 0x9fc00); CHECK_EQ(sget64(e + 8), 0x100000 - 0x9fc00); CHECK_EQ(sget32(e + 16), 2);
	e += 20;
	CHECK_EQ(sget64(e), 0x100000); CHECK_EQ(sget64(e + 8), MEM_SIZE - 0x100000); CHECK_EQ(sget32(e + 16), 1);
	e += 20;
	CHECK_EQ(sget64(e), LAYOUT_PCI_ECAM_START); CHECK_EQ(sget64(e + 8), LAYOUT_PCI_ECAM_SIZE);
	CHECK_EQ(sget32(e + 16), 2);
	int ram_above_4g = 0;
	uint64_t prev_end = 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *x = zp + 0x2d0 + 20 * i;
		CHECK(sget64(x) >= prev_end);         /* sorted, no overlap */
		prev_end = sget64(x) + sget64(x + 8);
		if (sget64(x) >= LAYOUT_HIGHMEM_START)
			ram_above_4g = 1;
	}
	CHECK_EQ(ram_above_4g, 0);
	CHECK_EQ(prev_end, LAYOUT_FIRMWARE_END);

	/* identity page tables for 0..4 GiB with 2 MiB pages */
	CHECK_EQ(sget64(gp(LAYOUT_PML4, 8)), LAYOUT_PDPT | 3);
	CHECK_EQ(sget64(gp(LAYOUT_PML4 + 8, 8)), 0);
	CHECK_EQ(sget64(gp(LAYOUT_PDPT + 24, 8)), (LAYOUT_PD + 0x3000) | 3);
	CHECK_EQ(sget64(gp(LAYOUT_PDPT + 32, 8)), 0);
	CHECK_EQ(sget64(gp(LAYOUT_PD + 8, 8)), 0x200083);
	CHECK_EQ(sget64(gp(LAYOUT_PD + 0x3000 + 511 * 8, 8)), 0xffe00083);
	/* GDT: null, 32-bit code, 64-bit code (L=1, D=0), data */
	CHECK_EQ(sget64(gp(LAYOUT_BOOT_GDT, 8)), 0);
	CHECK_EQ(sget64(gp(LAYOUT_BOOT_GDT + 8, 8)), 0x00cf9b000000ffffULL);
	CHECK_EQ(sget64(gp(LAYOUT_BOOT_GDT + 16, 8)), 0x00af9b000000ffffULL);
	CHECK_EQ(sget64(gp(LAYOUT_BOOT_GDT + 24, 8)), 0x00cf93000000ffffULL);
	free(s.buf);
}

static void test_placement(void)
{
	struct boot_cpu_state cpu;
	const char *failed;
	struct synth s = synth_bzimage(PM_SIZE);

	/* initrd_addr_max caps the initrd's end. */
	sput32(s.buf + 0x22c, 0x1ffffff);
	CHECK_EQ(load_bz(&s, NULL, initrd_path, &cpu, &failed), 0);
	const uint8_t *zp = gp(LAYOUT_ZERO_PAGE, 4096);
	CHECK_EQ(sget32(zp + 0x218), (0x2000000 - INITRD_SIZE) & ~0xfffULL);
	CHECK_EQ(sget32(zp + 0x21c), INITRD_SIZE);
	CHECK_EQ(*gp(LAYOUT_CMDLINE, 1), 0);         /* no -append: empty string */

	/* No room between the kernel's end (load + init_size) and the limit. */
	sput32(s.buf + 0x22c, 0x1000000 + PM_SIZE + 0x100000 + 0x1000);
	failed = NULL;
	CHECK_EQ(load_bz(&s, NULL, initrd_path, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	CHECK(failed == initrd_path);
	sput32(s.buf + 0x22c, 0x7fffffff);

	/* Missing initrd: I/O error with errno kept. */
	failed = NULL;
	CHECK_EQ(load_bz(&s, NULL, "/nonexistent/initrd", &cpu, &failed), -BOOT_ERR_IO);
	CHECK_STR(failed, "/nonexistent/initrd");
	CHECK_EQ(boot_errno(), ENOENT);
	free(s.buf);

	/* pref_address + init_size beyond 16 MiB of RAM: the kernel would move
	 * itself there anyway (boot.rst init_size), so it does not fit. */
	struct guest_memory big = mem;
	CHECK_EQ(guest_memory_init(&mem, 16 << 20), 0);
	s = synth_bzimage(PM_SIZE);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	CHECK_STR(failed, "KERNEL");
	s.buf[0x234] = 0;
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	/* A kernel that prefers 2 MiB loads there. */
	s.buf[0x234] = 1;
	sput64(s.buf + 0x258, 0x200000);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.rip, 0x200000 + 0x200);
	CHECK_MEM(gp(0x200000, PM_SIZE), s.buf + PM_OFF, PM_SIZE);
	CHECK_EQ(sget32(gp(LAYOUT_ZERO_PAGE + 0x214, 4)), 0x200000);
	/* Relocatable: pref_address rounded up to kernel_alignment. */
	sput64(s.buf + 0x258, 0x280000);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.rip, 0x400000 + 0x200);
	/* ... and below 1 MiB raised to 1 MiB first. */
	sput64(s.buf + 0x258, 0x1000);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.rip, 0x200000 + 0x200);
	/* Not relocatable: exactly pref_address, and never below 1 MiB. */
	s.buf[0x234] = 0;
	sput64(s.buf + 0x258, 0x280000);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), 0);
	CHECK_EQ(cpu.rip, 0x280000 + 0x200);
	sput64(s.buf + 0x258, 0x1000);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	sput64(s.buf + 0x258, 0xfffffffffffff000ULL);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	s.buf[0x234] = 1;
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	sput64(s.buf + 0x258, 0x200000);
	/* init_size larger than RAM. */
	sput32(s.buf + 0x260, 32 << 20);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_NO_ROOM);
	/* kernel_alignment not a power of two. */
	sput32(s.buf + 0x260, PM_SIZE);
	sput32(s.buf + 0x230, 0x300000);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	guest_memory_destroy(&mem);
	mem = big;
	free(s.buf);
}

/* 4 GiB of RAM: 3 GiB below the hole, 1 GiB from 4 GiB; the initrd obeys
 * initrd_addr_max (2 GiB - 1) rather than the end of RAM. */
static void test_big_ram(void)
{
	struct guest_memory big;
	struct e820_entry map[E820_MAX_ENTRIES];
	CHECK_EQ(guest_memory_init(&big, 4 * LAYOUT_GiB), 0);
	int n = e820_build(&big, map, E820_MAX_ENTRIES);
	CHECK_EQ(n, 9);
	CHECK_EQ(map[2].addr, 0x100000);
	CHECK_EQ(map[2].size, LAYOUT_LOWMEM_END - 0x100000);
	CHECK_EQ(map[2].type, E820_TYPE_RAM);
	CHECK_EQ(map[8].addr, LAYOUT_HIGHMEM_START);
	CHECK_EQ(map[8].size, LAYOUT_GiB);
	CHECK_EQ(map[8].type, E820_TYPE_RAM);
	for (int i = 3; i < 8; i++) {
		CHECK_EQ(map[i].type, E820_TYPE_RESERVED);
		CHECK(map[i].addr >= LAYOUT_LOWMEM_END && map[i].addr + map[i].size <= LAYOUT_FIRMWARE_END);
	}
	CHECK_EQ(e820_build(&big, map, 8), -BOOT_ERR_NO_ROOM);

	struct guest_memory small = mem;
	mem = big;
	struct synth s = synth_bzimage(PM_SIZE);
	struct boot_cpu_state cpu;
	const char *failed;
	CHECK_EQ(load_bz(&s, NULL, initrd_path, &cpu, &failed), 0);
	const uint8_t *zp = gp(LAYOUT_ZERO_PAGE, 4096);
	CHECK_EQ(sget32(zp + 0x218), (0x80000000ULL - INITRD_SIZE) & ~0xfffULL);
	CHECK_EQ(zp[0x1e8], 9);
	CHECK_EQ(sget64(zp + 0x2d0 + 8 * 20), LAYOUT_HIGHMEM_START);
	free(s.buf);
	mem = small;
	guest_memory_destroy(&big);
}

static void test_cmdline(void)
{
	struct boot_cpu_state cpu;
	const char *failed;
	struct synth s = synth_bzimage(PM_SIZE);
	char *line = malloc(70000);
	memset(line, 'a', 70000);

	line[2048] = 0;                               /* exactly cmdline_size */
	CHECK_EQ(load_bz(&s, line, NULL, &cpu, &failed), 0);
	CHECK_EQ(strlen((const char *)gp(LAYOUT_CMDLINE, 2049)), 2048);
	line[2048] = 'a';
	line[2049] = 0;
	CHECK_EQ(load_bz(&s, line, NULL, &cpu, &failed), -BOOT_ERR_CMDLINE_TOO_LONG);
	CHECK_STR(failed, "-append");
	/* A huge cmdline_size is still bounded by the layout's buffer. */
	sput32(s.buf + 0x238, 0xffffffff);
	line[2049] = 'a';
	line[LAYOUT_CMDLINE_MAX - 1] = 0;
	CHECK_EQ(load_bz(&s, line, NULL, &cpu, &failed), 0);
	line[LAYOUT_CMDLINE_MAX - 1] = 'a';
	line[LAYOUT_CMDLINE_MAX] = 0;
	CHECK_EQ(load_bz(&s, line, NULL, &cpu, &failed), -BOOT_ERR_CMDLINE_TOO_LONG);
	free(line);
	free(s.buf);
}

static void test_refusals(void)
{
	struct boot_cpu_state cpu;
	const char *failed;
	struct synth s = synth_bzimage(PM_SIZE);

	sput16(s.buf + 0x206, 0x0205);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	CHECK_STR(failed, "KERNEL");
	sput16(s.buf + 0x206, 0x020b);                /* no xloadflags yet */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	sput16(s.buf + 0x206, 0x020f);
	sput16(s.buf + 0x236, 0x0);                   /* 32-bit only */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	sput16(s.buf + 0x236, 0x3);
	s.buf[0x211] = 0;                             /* zImage */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_UNSUPPORTED);
	s.buf[0x211] = 1;
	CHECK_EQ(cpu.rip, 0);                          /* cpu cleared on error */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), 0);

	memcpy(s.buf + 0x202, "HdrX", 4);             /* bad magic: not a bzImage */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_FORMAT);
	memcpy(s.buf + 0x202, "HdrS", 4);
	sput16(s.buf + 0x1fe, 0x1234);
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_FORMAT);
	sput16(s.buf + 0x1fe, 0xAA55);

	/* Truncated: inside the setup header, and before the protected-mode part. */
	struct synth t = s;
	t.len = 0x240;
	CHECK_EQ(load_bz(&t, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	t.len = PM_OFF;
	CHECK_EQ(load_bz(&t, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	t.len = PM_OFF + 0x200;                       /* no byte at the 64-bit entry */
	CHECK_EQ(load_bz(&t, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	t.len = PM_OFF + 0x201;
	CHECK_EQ(load_bz(&t, NULL, NULL, &cpu, &failed), 0);
	s.buf[0x1f1] = 0xff;                          /* setup_sects beyond the file */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_TRUNCATED);
	s.buf[0x1f1] = SYNTH_BZ_SETUP_SECTS;
	s.buf[0x201] = 0x00;                          /* header ends before version */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	s.buf[0x201] = 0x30;                          /* header shorter than 2.15 needs */
	CHECK_EQ(load_bz(&s, NULL, NULL, &cpu, &failed), -BOOT_ERR_BAD_HEADER);
	free(s.buf);
}

static void test_corrupt(void)
{
	struct synth s = synth_bzimage(PM_SIZE);
	struct boot_config cfg = { .initrd = initrd_path, .cmdline = "console=ttyS0", .ncpus = 1 };
	CHECK_EQ(synth_corrupt_loop(&s, &cfg, 2000, 1), 0);
	free(s.buf);
}

int main(void)
{
	if (guest_memory_init(&mem, MEM_SIZE) < 0) {
		perror("guest_memory_init");
		return 2;
	}
	initrd_path = synth_initrd(initrd_data, INITRD_SIZE, 13, 5);
	test_good();
	test_placement();
	test_big_ram();
	test_cmdline();
	test_refusals();
	test_corrupt();
	synth_remove_file(initrd_path);
	guest_memory_destroy(&mem);
	return check_done();
}
