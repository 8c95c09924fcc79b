/* Firmware boot: SeaBIOS (or any -bios image) as ROM ending at 4 GiB with its
 * last 128 KiB mirrored below 1 MiB (QEMU hw/i386/x86.c x86_bios_rom_init),
 * and the fw_cfg items and files SeaBIOS src/fw/paravirt.c reads, including
 * QEMU's ACPI table-loader (src/fw/romfile_loader.c). */
#include "boot/firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/boot.h"
#include "devices/fw_cfg.h"
#include "vmm/memory.h"

/* boot.c keeps the errno of I/O failures; absent in tests that link alone. */
__attribute__((weak)) void boot_set_errno(int err);

static int io_error(int err)
{
	if (boot_set_errno)
		boot_set_errno(err);
	return -BOOT_ERR_IO;
}

int firmware_rom(const struct guest_memory *mem, struct firmware_image *out)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (r->gpa + r->size == LAYOUT_FIRMWARE_END && r->gpa >= LAYOUT_LOWMEM_END) {
			*out = (struct firmware_image){ r->host, r->size, r->gpa };
			return 0;
		}
	}
	return -ENOENT;
}

/* Reads the whole file into fresh anonymous pages. */
static int read_image(const char *path, void **data, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_error(errno);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return io_error(e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return io_error(S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
	}
	if (st.st_size <= 0 || st.st_size % 0x1000 || (uint64_t)st.st_size > FIRMWARE_MAX_SIZE) {
		close(fd);
		return -BOOT_ERR_BAD_HEADER;
	}
	size_t n = (size_t)st.st_size;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return io_error(ENOMEM);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)p + got, n - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;   /* shrank while we read it */
			munmap(p, n);
			close(fd);
			return io_error(e);
		}
		got += (size_t)r;
	}
	close(fd);
	*data = p;
	*size = n;
	return 0;
}

int firmware_load(struct guest_memory *mem, const struct boot_config *cfg,
		  struct boot_cpu_state *cpu, const char **failed_path)
{
	const char *path = cfg->firmware ? cfg->firmware : FIRMWARE_DEFAULT_PATH;
	void *data;
	size_t size;
	*failed_path = path;
	int ret = read_image(path, &data, &size);
	if (ret < 0) {
		if (!cfg->firmware && ret == -BOOT_ERR_IO && access(path, F_OK) < 0)
			*failed_path = FIRMWARE_DEFAULT_PATH
				" (no -kernel or -bios given; install SeaBIOS: apt-get install seabios)";
		return ret;
	}
	size_t low = size < FIRMWARE_LOW_COPY ? size : FIRMWARE_LOW_COPY;
	uint8_t *dst = guest_memory_ptr(mem, LAYOUT_BIOS_AREA_END - low, low);
	struct firmware_image old;
	if (!dst || firmware_rom(mem, &old) == 0) {
		munmap(data, size);
		return -BOOT_ERR_NO_ROOM;
	}
	uint64_t ram = mem->ram_size;
	ret = guest_memory_add_region(mem, LAYOUT_FIRMWARE_END - size, size, data);
	if (ret < 0) {
		munmap(data, size);
		return -BOOT_ERR_NO_ROOM;
	}
	/* The region is ROM, not RAM, and guest_memory_destroy() unmaps it. */
	mem->ram_size = ram;
	mem->regions[mem->nregions - 1].owned = 1;
	memcpy(dst, (uint8_t *)data + size - low, low);

	memset(cpu, 0, sizeof(*cpu));
	cpu->mode = BOOT_CPU_RESET;
	*failed_path = NULL;
	return 0;
}

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* struct qemu_e820_entry { u64 address; u64 length; u32 type; } packed. */
static unsigned e820_add(uint8_t *buf, unsigned n, uint64_t addr, uint64_t len, uint32_t type)
{
	uint8_t *e = buf + 20 * n;
	put(e, addr, 8);
	put(e + 8, len, 8);
	put(e + 16, type, 4);
	return n + 1;
}

int firmware_fw_cfg_setup(struct fw_cfg *fw, const struct guest_memory *mem,
			  unsigned ncpus, int pci, const char *bootorder)
{
	struct acpi_config ac = { ncpus, pci };
	struct acpi_blob blob;
	int ret = acpi_build_blob(&ac, &blob);
	if (ret < 0)
		return ret;

	uint8_t e820[20 * 4];
	unsigned n = 0;
	uint64_t low = guest_memory_low_size(mem), high = guest_memory_high_size(mem);
	n = e820_add(e820, n, 0, low, 1);
	if (pci)
		n = e820_add(e820, n, LAYOUT_PCI_ECAM_START, LAYOUT_PCI_ECAM_SIZE, 2);
	/* KVM's identity-map page and TSS (KVM_SET_TSS_ADDR, 3 pages) */
	n = e820_add(e820, n, LAYOUT_IDENTITY_MAP_ADDR, LAYOUT_TSS_ADDR + 0x3000 - LAYOUT_IDENTITY_MAP_ADDR, 2);
	if (high)
		n = e820_add(e820, n, LAYOUT_HIGHMEM_START, high, 1);

	uint8_t wait[4], sercon[2];
	put(wait, 0xffffffffu, 4);
	put(sercon, LAYOUT_PORT_COM1, 2);
	const char *order = bootorder ? bootorder : "";

	if (ret == 0) ret = fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, mem->ram_size);
	if (ret == 0) ret = fw_cfg_add_i16(fw, FW_CFG_NB_CPUS, (uint16_t)ncpus);
	if (ret == 0) ret = fw_cfg_add_i16(fw, FW_CFG_MAX_CPUS, (uint16_t)ncpus);
	if (ret == 0) ret = fw_cfg_add_i16(fw, FW_CFG_BOOT_MENU, 0);
	if (ret == 0) ret = fw_cfg_add_i16(fw, FW_CFG_NOGRAPHIC, 1);
	if (ret == 0) ret = fw_cfg_add_i64(fw, FW_CFG_NUMA, 0);
	if (ret == 0) ret = fw_cfg_add_i32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
	if (ret == 0) ret = fw_cfg_add_file(fw, "etc/e820", e820, 20 * (size_t)n);
	if (ret >= 0) ret = fw_cfg_add_file(fw, "etc/boot-fail-wait", wait, sizeof(wait));
	if (ret >= 0) ret = fw_cfg_add_file(fw, "etc/sercon-port", sercon, sizeof(sercon));
	if (ret >= 0) ret = fw_cfg_add_file(fw, "bootorder", order, strlen(order));
	if (ret >= 0) ret = fw_cfg_add_file(fw, ACPI_FILE_TABLES, blob.tables, blob.tables_len);
	if (ret >= 0) ret = fw_cfg_add_file(fw, ACPI_FILE_RSDP, blob.rsdp, sizeof(blob.rsdp));
	if (ret >= 0) ret = fw_cfg_add_file(fw, ACPI_FILE_LOADER, blob.loader, blob.loader_len);
	acpi_blob_free(&blob);
	return ret < 0 ? ret : 0;
}
