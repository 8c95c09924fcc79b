/* test_firmware: loads firmware images into a guest_memory as firmware_load()
 * does for SeaBIOS (ROM ending at 4 GiB, last 128 KiB mirrored below 1 MiB,
 * reset CPU state), refuses bad images with the exact error, and checks what
 * firmware_fw_cfg_setup() offers through the fw_cfg ports: the legacy items,
 * etc/e820, etc/sercon-port, bootorder and a table-loader whose RSDP and
 * tables are consistent. The Debian bios-256k.bin part is skipped without it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/boot.h"
#include "boot/firmware.h"
#include "boot/layout.h"
#include "devices/fw_cfg.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/bus.h"
#include "vmm/memory.h"

static char tmpdir[] = "/tmp/test_firmware.XXXXXX";

static const char *write_image(const char *name, size_t size, uint8_t seed)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	for (size_t i = 0; i < size; i++)
		fputc((int)((i * 31 + seed) & 0xff), f);
	fclose(f);
	return path;
}

static void check_loaded(struct guest_memory *mem, const uint8_t *img, size_t size, uint64_t ram)
{
	struct firmware_image rom;
	CHECK_EQ(firmware_rom(mem, &rom), 0);
	CHECK_EQ(rom.gpa, LAYOUT_FIRMWARE_END - size);
	CHECK_EQ(rom.size, size);
	CHECK_MEM(rom.data, img, size);
	CHECK_EQ(mem->ram_size, ram);           /* ROM is not RAM */
	/* reset vector: the last 16 bytes, at 0xfffffff0 and at 0xffff0 */
	const uint8_t *hi = guest_memory_ptr(mem, 0xfffffff0, 16);
	const uint8_t *lo = guest_memory_ptr(mem, 0xffff0, 16);
	CHECK(hi && lo);
	if (hi && lo) {
		CHECK_MEM(hi, img + size - 16, 16);
		CHECK_MEM(lo, img + size - 16, 16);
	}
	size_t low = size < FIRMWARE_LOW_COPY ? size : FIRMWARE_LOW_COPY;
	const uint8_t *l = guest_memory_ptr(mem, LAYOUT_BIOS_AREA_END - low, low);
	CHECK(l && memcmp(l, img + size - low, low) == 0);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = malloc(1 << 20);
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void test_images(void)
{
	struct guest_memory mem;
	struct boot_cpu_state cpu;
	const char *failed;
	struct boot_config cfg = { 0 };
	CHECK(mkdtemp(tmpdir) != NULL);

	/* 64 KiB and 256 KiB synthetic images */
	size_t sizes[] = { 64 * 1024, 256 * 1024 };
	for (unsigned i = 0; i < 2; i++) {
		CHECK_EQ(guest_memory_init(&mem, 32 * LAYOUT_MiB), 0);
		cfg.firmware = write_image("bios.bin", sizes[i], (uint8_t)i);
		memset(&cpu, 0xff, sizeof(cpu));
		CHECK_EQ(firmware_load(&mem, &cfg, &cpu, &failed), 0);
		CHECK_EQ(cpu.mode, BOOT_CPU_RESET);
		CHECK_EQ(cpu.rip, 0);
		size_t n = 0;
		uint8_t *img = slurp(cfg.firmware, &n);
		CHECK_EQ(n, sizes[i]);
		check_loaded(&mem, img, n, 32 * LAYOUT_MiB);
		/* a second ROM is refused */
		CHECK_EQ(firmware_load(&mem, &cfg, &cpu, &failed), -BOOT_ERR_NO_ROOM);
		free(img);
		guest_memory_destroy(&mem);
	}

	/* refusals, each with the file named */
	CHECK_EQ(guest_memory_init(&mem, 32 * LAYOUT_MiB), 0);
	struct { const char *name; size_t size; int err; } bad[] = {
		{ "empty.bin", 0, -BOOT_ERR_BAD_HEADER },
		{ "odd.bin", 4096 + 1, -BOOT_ERR_BAD_HEADER },
		{ "big.bin", 512 * 1024, -BOOT_ERR_BAD_HEADER },
	};
	for (unsigned i = 0; i < 3; i++) {
		cfg.firmware = write_image(bad[i].name, bad[i].size, 1);
		CHECK_EQ(firmware_load(&mem, &cfg, &cpu, &failed), bad[i].err);
		CHECK_STR(failed, cfg.firmware);
	}
	cfg.firmware = "/nonexistent/bios.bin";
	CHECK_EQ(firmware_load(&mem, &cfg, &cpu, &failed), -BOOT_ERR_IO);
	CHECK_STR(failed, "/nonexistent/bios.bin");
	cfg.firmware = tmpdir;
	CHECK_EQ(firmware_load(&mem, &cfg, &cpu, &failed), -BOOT_ERR_IO);
	struct firmware_image rom;
	CHECK_EQ(firmware_rom(&mem, &rom), -ENOENT);
	CHECK_EQ(mem.nregions, 1);
	guest_memory_destroy(&mem);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK_EQ(system(cmd), 0);
}

static void test_seabios(void)
{
	if (access(FIRMWARE_DEFAULT_PATH, R_OK) < 0) {
		printf("%s not installed: SeaBIOS load skipped\n", FIRMWARE_DEFAULT_PATH);
		return;
	}
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 512 * LAYOUT_MiB), 0);
	struct boot_config cfg = { 0 };       /* no -bios: the Debian default */
	struct boot_cpu_state cpu;
	const char *failed = "unset";
	CHECK_EQ(firmware_load(&mem, &cfg, &cpu, &failed), 0);
	CHECK(failed == NULL);
	CHECK_EQ(cpu.mode, BOOT_CPU_RESET);
	size_t n = 0;
	uint8_t *img = slurp(FIRMWARE_DEFAULT_PATH, &n);
	CHECK_EQ(n, 256 * 1024);
	check_loaded(&mem, img, n, 512 * LAYOUT_MiB);
	/* the reset vector is a far jump (0xea) into the F segment */
	const uint8_t *rv = guest_memory_ptr(&mem, 0xffff0, 16);
	CHECK_EQ(rv[0], 0xea);
	free(img);
	guest_memory_destroy(&mem);
}

/* fw_cfg as SeaBIOS sees it after firmware_fw_cfg_setup(). */
static struct bus pio;

static void sel(uint16_t key) { test_fw_cfg_select(&pio, LAYOUT_PORT_FW_CFG, key); }
static void readn(void *dst, size_t n) { test_fw_cfg_read(&pio, LAYOUT_PORT_FW_CFG, dst, n); }

static uint8_t *read_file(const char *name, uint32_t *size)
{
	int select = test_fw_cfg_find(&pio, LAYOUT_PORT_FW_CFG, name, size);
	if (select < 0)
		return NULL;
	uint8_t *buf = calloc(1, *size + 1);
	sel((uint16_t)select);
	readn(buf, *size);
	return buf;
}

static void test_fw_cfg_setup(void)
{
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 4 * LAYOUT_GiB), 0);   /* 3 GiB low + 1 GiB high */
	CHECK_EQ(bus_init(&pio, "pio"), 0);
	struct fw_cfg *fw;
	CHECK_EQ(fw_cfg_create(&fw, &pio, LAYOUT_PORT_FW_CFG, &mem), 0);
	const char *order = "/pci@i0cf8/scsi@4/channel@0/disk@0,0\n";
	CHECK_EQ(firmware_fw_cfg_setup(fw, &mem, 2, 1, order), 0);

	uint64_t ram = 0;
	sel(FW_CFG_RAM_SIZE);
	readn(&ram, 8);
	CHECK_EQ(ram, 4 * LAYOUT_GiB);
	uint16_t ncpu = 0, maxcpu = 0;
	sel(FW_CFG_NB_CPUS);
	readn(&ncpu, 2);
	sel(FW_CFG_MAX_CPUS);
	readn(&maxcpu, 2);
	CHECK_EQ(ncpu, 2);
	CHECK_EQ(maxcpu, 2);

	uint32_t size;
	uint8_t *e820 = read_file("etc/e820", &size);
	CHECK(e820 != NULL);
	if (e820) {
		CHECK_EQ(size, 4 * 20);
		CHECK_EQ(test_get_le(e820, 8), 0);
		CHECK_EQ(test_get_le(e820 + 8, 8), LAYOUT_LOWMEM_END);
		CHECK_EQ(test_get_le(e820 + 16, 4), 1);
		CHECK_EQ(test_get_le(e820 + 20, 8), LAYOUT_PCI_ECAM_START);
		CHECK_EQ(test_get_le(e820 + 36, 4), 2);
		CHECK_EQ(test_get_le(e820 + 60, 8), LAYOUT_HIGHMEM_START);
		CHECK_EQ(test_get_le(e820 + 68, 8), LAYOUT_GiB);
		CHECK_EQ(test_get_le(e820 + 76, 4), 1);
	}
	free(e820);
	uint8_t *p = read_file("etc/sercon-port", &size);
	CHECK(p && size == 2 && test_get_le(p, 2) == 0x3f8);
	free(p);
	p = read_file("etc/boot-fail-wait", &size);
	CHECK(p && size == 4 && test_get_le(p, 4) == 0xffffffffu);
	free(p);
	p = read_file("bootorder", &size);
	CHECK(p && size == strlen(order) && memcmp(p, order, size) == 0);
	free(p);

	/* the ACPI files equal a fresh acpi_build_blob() */
	struct acpi_config ac = { 2, 1 };
	struct acpi_blob blob;
	CHECK_EQ(acpi_build_blob(&ac, &blob), 0);
	p = read_file(ACPI_FILE_TABLES, &size);
	CHECK(p && size == blob.tables_len && memcmp(p, blob.tables, size) == 0);
	free(p);
	p = read_file(ACPI_FILE_RSDP, &size);
	CHECK(p && size == 36 && memcmp(p, blob.rsdp, 36) == 0);
	free(p);
	p = read_file(ACPI_FILE_LOADER, &size);
	CHECK(p && size == blob.loader_len && memcmp(p, blob.loader, size) == 0);
	/* SeaBIOS needs ALLOCATE before the pointers into a file */
	CHECK(p && test_get_le(p, 4) == ACPI_LOADER_ALLOCATE && strcmp((char *)p + 4, ACPI_FILE_RSDP) == 0);
	free(p);
	acpi_blob_free(&blob);

	/* bad ACPI config is reported, not half-applied silently */
	struct fw_cfg *fw2;
	struct bus pio2;
	CHECK_EQ(bus_init(&pio2, "pio2"), 0);
	CHECK_EQ(fw_cfg_create(&fw2, &pio2, LAYOUT_PORT_FW_CFG, &mem), 0);
	CHECK_EQ(firmware_fw_cfg_setup(fw2, &mem, ACPI_MAX_CPUS + 1, 1, NULL), -BOOT_ERR_NO_ROOM);
	fw_cfg_destroy(fw2);
	bus_destroy(&pio2);
	fw_cfg_destroy(fw);
	bus_destroy(&pio);
	guest_memory_destroy(&mem);
}

int main(void)
{
	test_images();
	test_seabios();
	test_fw_cfg_setup();
	return check_done();
}
