/* Boot dispatcher: probes -kernel (bzImage, multiboot v1, ELF64 vmlinux, in
 * QEMU's order), builds the platform tables (ACPI, MP) and hands over to the
 * format's loader; also the checked file access, command line and initrd
 * placement the loaders share. Formats: boot.rst, multiboot 0.6.96, PVH. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/loader.h"
#include "boot/layout.h"
#include "boot/acpi.h"
#include "boot/mptable.h"
#include "vmm/memory.h"

/* Firmware boot lives in firmware.c, which needs fw_cfg from devices/: a weak
 * reference keeps vmm_boot usable without vmm_devices (tests, fuzzers). It is
 * linked in whenever the program references firmware.c otherwise (vmm's
 * machine.c uses firmware_rom()/firmware_fw_cfg_setup()); else it is NULL and
 * boot_load() answers -BOOT_ERR_NO_FIRMWARE. ACPI and MP tables are plain
 * vmm_boot code and are called directly (a weak reference would not pull
 * them out of the static library). */
__attribute__((weak)) int firmware_load(struct guest_memory *mem, const struct boot_config *cfg,
					struct boot_cpu_state *cpu, const char **failed_path);

#define BDA_EBDA_SEG      0x40e
#define BDA_BASE_MEM_KIB  0x413

/* errno of the last I/O failure, per thread so that concurrent loads (tests,
 * fuzzers) do not see each other's. */
static _Thread_local int boot_last_errno;

void boot_set_errno(int err)
{
	boot_last_errno = err;
}

int boot_errno(void)
{
	return boot_last_errno;
}

const char *boot_strerror(int err)
{
	switch (-err) {
	case 0: return "success";
	case BOOT_ERR_IO: return strerror(boot_last_errno ? boot_last_errno : EIO);
	case BOOT_ERR_FORMAT: return "not a bzImage, ELF vmlinux or multiboot kernel";
	case BOOT_ERR_TRUNCATED: return "file is shorter than its headers say (truncated)";
	case BOOT_ERR_BAD_HEADER: return "invalid or inconsistent header";
	case BOOT_ERR_UNSUPPORTED: return "kernel needs a boot feature vmm does not offer (protocol < 2.06, no 64-bit entry, or a multiboot requirement)";
	case BOOT_ERR_NO_ROOM: return "does not fit in guest RAM (try a larger -m)";
	case BOOT_ERR_CMDLINE_TOO_LONG: return "kernel command line (-append) is too long for this kernel";
	case BOOT_ERR_NO_FIRMWARE: return "no -kernel given and firmware boot is not built";
	default: return "unknown boot error";
	}
}

int boot_file_open(struct boot_file *f, const char *path)
{
	struct stat st;

	f->fd = -1;
	f->size = 0;
	f->path = path;
	/* O_NONBLOCK: a FIFO named as -kernel must not hang the VMM. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		boot_set_errno(errno);
		return -BOOT_ERR_IO;
	}
	if (fstat(fd, &st) < 0) {
		boot_set_errno(errno);
		close(fd);
		return -BOOT_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		boot_set_errno(S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
		close(fd);
		return -BOOT_ERR_IO;
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	return 0;
}

void boot_file_close(struct boot_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static int read_full(int fd, uint8_t *buf, uint64_t off, uint64_t len)
{
	while (len > 0) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = pread(fd, buf, chunk, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			boot_set_errno(errno);
			return -BOOT_ERR_IO;
		}
		if (n == 0)      /* file shrank under us */
			return -BOOT_ERR_TRUNCATED;
		buf += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int boot_file_read(const struct boot_file *f, uint64_t off, void *buf, uint64_t len)
{
	if (off > f->size || len > f->size - off)
		return -BOOT_ERR_TRUNCATED;
	return read_full(f->fd, buf, off, len);
}

int boot_file_load(const struct boot_file *f, struct guest_memory *mem,
		   uint64_t off, uint64_t len, uint64_t gpa)
{
	if (off > f->size || len > f->size - off)
		return -BOOT_ERR_TRUNCATED;
	if (len == 0)
		return 0;
	uint8_t *dst = guest_memory_ptr(mem, gpa, len);
	if (!dst)
		return -BOOT_ERR_NO_ROOM;
	return read_full(f->fd, dst, off, len);
}

int boot_check_range(const struct guest_memory *mem, uint64_t gpa, uint64_t len, uint64_t limit)
{
	if (gpa < LAYOUT_KERNEL_LOAD || gpa > limit || len > limit - gpa)
		return -BOOT_ERR_NO_ROOM;
	if (len && !guest_memory_ptr(mem, gpa, len))
		return -BOOT_ERR_NO_ROOM;
	return 0;
}

int boot_write_cmdline(struct guest_memory *mem, const char *prefix, const char *cmdline, uint64_t max)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	size_t cl = cmdline ? strlen(cmdline) : 0;
	size_t sep = pl && cl ? 1 : 0;
	uint64_t total = (uint64_t)pl + sep + cl;

	if (max > LAYOUT_CMDLINE_MAX - 1)
		max = LAYOUT_CMDLINE_MAX - 1;
	if (total > max)
		return -BOOT_ERR_CMDLINE_TOO_LONG;
	uint8_t *dst = guest_memory_ptr(mem, LAYOUT_CMDLINE, total + 1);
	if (!dst)
		return -BOOT_ERR_NO_ROOM;
	if (pl)
		memcpy(dst, prefix, pl);
	if (sep)
		dst[pl] = ' ';
	if (cl)
		memcpy(dst + pl + sep, cmdline, cl);
	dst[total] = 0;
	return (int)total;
}

int boot_load_high(struct guest_memory *mem, const char *path, uint64_t lo, uint64_t hi,
		   uint64_t *addr, uint64_t *size)
{
	struct boot_file f;
	int ret = boot_file_open(&f, path);
	if (ret < 0)
		return ret;
	lo = BOOT_ALIGN_UP(lo, 4096);
	hi = BOOT_ALIGN_DOWN(hi, 4096);
	if (lo >= hi || f.size > hi - lo) {
		boot_file_close(&f);
		return -BOOT_ERR_NO_ROOM;
	}
	uint64_t at = BOOT_ALIGN_DOWN(hi - f.size, 4096);
	ret = boot_file_load(&f, mem, 0, f.size, at);
	if (ret == -BOOT_ERR_TRUNCATED) {       /* shrank since fstat */
		boot_set_errno(EIO);
		ret = -BOOT_ERR_IO;
	}
	if (ret == 0) {
		*addr = at;
		*size = f.size;
	}
	boot_file_close(&f);
	return ret;
}

static int is_elf64_x86(const uint8_t *h, uint64_t n)
{
	return n >= 20 && memcmp(h, "\177ELF", 4) == 0 && h[4] == 2 && h[5] == 1 &&
	       boot_get16(h + 18) == 62;  /* EM_X86_64 */
}

static int load_kernel(struct boot_ctx *ctx)
{
	const struct boot_config *cfg = ctx->cfg;
	struct boot_file f;
	uint8_t head[0x300];
	int ret;

	*ctx->failed_path = cfg->kernel;
	ret = boot_file_open(&f, cfg->kernel);
	if (ret < 0)
		return ret;
	uint64_t n = f.size < sizeof(head) ? f.size : sizeof(head);
	memset(head, 0, sizeof(head));
	ret = boot_file_read(&f, 0, head, n);
	if (ret < 0)
		goto out;

	if (n >= 0x206 && boot_get16(head + 0x1fe) == 0xAA55 && memcmp(head + 0x202, "HdrS", 4) == 0) {
		ret = linux_load_bzimage(ctx, &f);
		goto out;
	}
	int elf64 = is_elf64_x86(head, n);
	if (!(elf64 && cfg->elf_entry != BOOT_ELF_AUTO)) {
		uint64_t mb_off;
		ret = multiboot_probe(&f, &mb_off);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			ret = multiboot_load(ctx, &f, mb_off);
			goto out;
		}
	}
	if (elf64) {
		ret = elf_load_kernel(ctx, &f);
		goto out;
	}
	ret = -BOOT_ERR_FORMAT;
out:
	boot_file_close(&f);
	return ret;
}

int boot_load(struct guest_memory *mem, const struct boot_config *cfg,
	      struct boot_cpu_state *cpu, const char **failed_path)
{
	struct boot_ctx ctx = {
		.mem = mem, .cfg = cfg, .cpu = cpu, .failed_path = failed_path, .rsdp = 0,
	};
	int ret;

	*failed_path = NULL;
	memset(cpu, 0, sizeof(*cpu));
	if (!cfg->kernel) {
		if (firmware_load)
			return firmware_load(mem, cfg, cpu, failed_path);
		return -BOOT_ERR_NO_FIRMWARE;
	}
	/* Tables first: every kernel format finds them by scanning (MP floating
	 * pointer, RSDP) or through the address the loader passes on. */
	unsigned ncpus = cfg->ncpus ? cfg->ncpus : 1;
	struct acpi_config ac = { .ncpus = ncpus, .pci = cfg->pci };
	ret = acpi_build(mem, &ac);
	if (ret < 0) {
		*failed_path = "ACPI tables";
		return ret;
	}
	ctx.rsdp = LAYOUT_ACPI_RSDP;
	ret = mptable_build(mem, ncpus);
	if (ret < 0) {
		*failed_path = "MP table";
		return ret;
	}
	/* BIOS data area as a BIOS leaves it: EBDA segment (read by Linux's
	 * get_bios_ebda() and MP table scan) and base memory size in KiB. */
	uint8_t bda_ebda[2] = { (uint8_t)(LAYOUT_EBDA_START >> 4), (uint8_t)(LAYOUT_EBDA_START >> 12) };
	uint8_t bda_basemem[2] = { (uint8_t)(LAYOUT_EBDA_START >> 10), (uint8_t)(LAYOUT_EBDA_START >> 18) };
	if (guest_memory_write(mem, BDA_EBDA_SEG, bda_ebda, 2) < 0 ||
	    guest_memory_write(mem, BDA_BASE_MEM_KIB, bda_basemem, 2) < 0) {
		*failed_path = cfg->kernel;
		return -BOOT_ERR_NO_ROOM;
	}
	ret = load_kernel(&ctx);
	if (ret < 0)
		memset(cpu, 0, sizeof(*cpu));
	else
		*failed_path = NULL;
	return ret;
}
