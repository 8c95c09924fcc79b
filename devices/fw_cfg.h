/* QEMU's firmware configuration device (QEMU docs/specs/fw_cfg.rst), as
 * SeaBIOS src/fw/paravirt.c drives it: selector (16-bit write) at port 0x510,
 * data (byte reads) at 0x511, DMA address at 0x514 (high) / 0x518 (low, starts
 * the transfer), big-endian, over an FWCfgDmaAccess in guest memory. Items are
 * numbered selectors (legacy keys) and named files (FW_CFG_FILE_DIR). */
#ifndef VMM_DEVICES_FW_CFG_H
#define VMM_DEVICES_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct guest_memory;
struct fw_cfg;

/* Selector keys (fw_cfg.rst "Selector Register", QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE     0x00
#define FW_CFG_ID            0x01
#define FW_CFG_UUID          0x02
#define FW_CFG_RAM_SIZE      0x03
#define FW_CFG_NOGRAPHIC     0x04
#define FW_CFG_NB_CPUS       0x05
#define FW_CFG_MACHINE_ID    0x06
#define FW_CFG_BOOT_MENU     0x0e
#define FW_CFG_MAX_CPUS      0x0f
#define FW_CFG_FILE_DIR      0x19
#define FW_CFG_FILE_FIRST    0x20
#define FW_CFG_FILE_SLOTS    0x40
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL    0x8000
#define FW_CFG_ENTRY_MASK    (~(FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL) & 0xffff)
#define FW_CFG_ACPI_TABLES   (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE    (FW_CFG_ARCH_LOCAL + 3)
#define FW_CFG_NUMA          0x0d

#define FW_CFG_VERSION       0x01    /* FW_CFG_ID bits: traditional interface */
#define FW_CFG_VERSION_DMA   0x02    /*                 DMA interface */

/* FWCfgDmaAccess.control bits */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10
#define FW_CFG_DMA_SIGNATURE  0x51454d5520434647ULL   /* "QEMU CFG" */

#define FW_CFG_MAX_FILE_PATH 56

/* Port layout relative to base (LAYOUT_PORT_FW_CFG): */
#define FW_CFG_PORT_SEL      0    /* 16-bit selector write */
#define FW_CFG_PORT_DATA     1    /* byte data read */
#define FW_CFG_PORT_DMA      4    /* 0x514 DMA address high, 0x518 low (big-endian) */

/* Registers the selector/data ports at base and the DMA ports at base + 4 on
 * pio, with the signature, the ID (traditional | DMA) and an empty file
 * directory. DMA goes to guest RAM through mem only (guest_memory_ptr).
 * Returns 0, -ENOMEM or the bus error (-EEXIST). */
int fw_cfg_create(struct fw_cfg **out, struct bus *pio, uint16_t base,
		  const struct guest_memory *mem);
void fw_cfg_destroy(struct fw_cfg *fw);

/* Adds (or replaces) a numbered item with a copy of data. Returns 0, -EINVAL
 * for a file-range or reserved key, -ENOMEM. */
int fw_cfg_add_item(struct fw_cfg *fw, uint16_t key, const void *data, size_t len);
/* Little-endian integer items, as the legacy keys are. */
int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v);
int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v);
int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v);

/* Adds a named file (copy of data) at the next free selector from
 * FW_CFG_FILE_FIRST and lists it in FW_CFG_FILE_DIR. Returns the selector,
 * -EEXIST for a duplicate name, -ENAMETOOLONG (55 characters at most),
 * -ENOSPC (FW_CFG_FILE_SLOTS files), -EINVAL (len beyond 4 GiB), -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len);

#endif
