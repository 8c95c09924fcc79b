/* Fuzz target: the fw_cfg device (devices/fw_cfg.c, QEMU docs/specs/fw_cfg.rst)
 * as the guest sees it: the input is a sequence of port accesses (selector
 * writes, data reads/writes, DMA address writes) on the I/O bus, and guest
 * RAM (64 KiB, first 4 KiB from the input) holds the DMA descriptors and
 * buffers the guest points at. */
#include "fuzz/fuzz.h"
#include "devices/fw_cfg.h"
#include "vmm/bus.h"
#include "vmm/memory.h"

#define BASE 0x510
#define RAM_SIZE 0x10000u

static uint8_t ram[RAM_SIZE];
static struct guest_memory mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fw_cfg *fw;
	struct bus pio;
	static const char blob[] = "etc/fuzz-file contents";

	if (!mem.nregions)
		guest_memory_add_region(&mem, 0, RAM_SIZE, ram);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, in.p, in.n < 4096 ? in.n : 4096);
	if (bus_init(&pio, "pio") != 0 || fw_cfg_create(&fw, &pio, BASE, &mem) != 0)
		abort();
	fw_cfg_add_i32(fw, FW_CFG_NB_CPUS, 2);
	fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, RAM_SIZE);
	fw_cfg_add_file(fw, "etc/fuzz", blob, sizeof(blob));
	fw_cfg_add_file(fw, "etc/empty", blob, 0);

	for (int i = 0; i < 256 && in.n; i++) {
		unsigned op = (unsigned)fuzz_take(&in, 1);
		unsigned port = op % 12, sz = 1u << ((op >> 4) & 3);
		uint64_t v = 0;

		if (sz > 4)
			sz = 4;
		if (op & 0x80) {
			v = fuzz_take(&in, sz);
			bus_write(&pio, BASE + port, &v, sz);
		} else {
			bus_read(&pio, BASE + port, &v, sz);
		}
	}
	fw_cfg_destroy(fw);
	bus_destroy(&pio);
	return 0;
}
