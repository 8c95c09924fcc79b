/* Firmware boot (SeaBIOS): the BIOS image is mapped as ROM so that it ends at
 * 4 GiB (the reset vector at 0xfffffff0 is its last 16 bytes) and its last
 * 128 KiB are copied to 0xe0000-0xfffff in RAM, as QEMU's isa-bios alias; the
 * vCPU starts in its architectural reset state. What the firmware learns of
 * the board comes through fw_cfg (devices/fw_cfg.h), filled here with the
 * items and files SeaBIOS src/fw/paravirt.c reads. */
#ifndef VMM_BOOT_FIRMWARE_H
#define VMM_BOOT_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "boot/layout.h"

struct guest_memory;
struct boot_config;
struct boot_cpu_state;
struct fw_cfg;

/* Debian's seabios package; used when cfg->firmware (-bios) is NULL. */
#define FIRMWARE_DEFAULT_PATH "/usr/share/seabios/bios-256k.bin"
/* The ROM must stay above the KVM TSS and identity-map pages (layout.h). */
#define FIRMWARE_MAX_SIZE (LAYOUT_FIRMWARE_END - (LAYOUT_TSS_ADDR + 3 * 0x1000))
/* Bytes mirrored to end at 1 MiB (0xc0000-0xfffff for bios-256k.bin): SeaBIOS
 * runs its init code there and, on a host bridge without i440fx/Q35 PAM
 * registers, cannot copy it down itself. */
#define FIRMWARE_LOW_COPY (256 * 1024)

/* The ROM as mapped: host bytes, size, guest physical start (ends at 4 GiB). */
struct firmware_image {
	void *data;
	size_t size;
	uint64_t gpa;
};

/* Loads cfg->firmware, or FIRMWARE_DEFAULT_PATH when it is NULL, as ROM:
 * adds a guest_memory region [4 GiB - size, 4 GiB) that owns the image (freed
 * by guest_memory_destroy; not counted in mem->ram_size), copies the last
 * min(size, 128 KiB) bytes to end at 1 MiB, and sets cpu->mode to
 * BOOT_CPU_RESET (other fields zero). Returns 0 or -BOOT_ERR_IO (errno in
 * boot_errno when boot.c provides it; *failed_path names the file, with an
 * "apt-get install seabios" hint when the default is missing),
 * -BOOT_ERR_BAD_HEADER (empty, not a multiple of 4 KiB, or above
 * FIRMWARE_MAX_SIZE), -BOOT_ERR_NO_ROOM (no region slot, RAM below 1 MiB).
 *
 * What vmm/machine.c must do for a firmware boot (kvm_set_memory() ran before
 * boot_load(), so the ROM region is not yet a KVM slot):
 *   struct firmware_image rom;
 *   if (firmware_rom(&m->mem, &rom) == 0)
 *       add a KVM slot { .slot = <next free>, .flags = KVM_MEM_READONLY,
 *                        .guest_phys_addr = rom.gpa, .memory_size = rom.size,
 *                        .userspace_addr = (uintptr_t)rom.data };
 * (guest writes to it then exit as MMIO; drop them), create fw_cfg at
 * LAYOUT_PORT_FW_CFG and call firmware_fw_cfg_setup(). */
int firmware_load(struct guest_memory *mem, const struct boot_config *cfg,
		  struct boot_cpu_state *cpu, const char **failed_path);

/* The ROM region firmware_load() added: 0, or -ENOENT when there is none. */
int firmware_rom(const struct guest_memory *mem, struct firmware_image *out);

/* Fills fw with what SeaBIOS reads: FW_CFG_RAM_SIZE, NB_CPUS, MAX_CPUS,
 * BOOT_MENU (0), NOGRAPHIC (1), NUMA (none), IRQ0_OVERRIDE (1), and the files
 * "etc/e820" (RAM below 3 GiB and above 4 GiB, reserved ECAM and KVM TSS
 * pages), "etc/boot-fail-wait" (-1: stay at "No bootable device"),
 * "etc/sercon-port" (0x3f8: SeaBIOS console on COM1 with no VGA), "bootorder"
 * (bootorder, newline-separated OpenFirmware paths, or empty), and the ACPI
 * tables "etc/acpi/tables", "etc/acpi/rsdp", "etc/table-loader" from
 * acpi_build_blob(). Returns 0, -BOOT_ERR_* from the ACPI builder, or a
 * negative errno from fw_cfg. */
int firmware_fw_cfg_setup(struct fw_cfg *fw, const struct guest_memory *mem,
			  unsigned ncpus, int pci, const char *bootorder);

#endif
