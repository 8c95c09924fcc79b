/* test_mptable: parses the MP spec 1.4 tables mptable_build() wrote: floating
 * pointer and table checksums, entry counts and lengths, CPU flags (BSP on
 * CPU 0 only), the IOAPIC ID, ISA IRQ routing (IRQ0 on pin 2), LINT0/LINT1,
 * the EBDA/F-segment placement and the refusals. */
#include <stdint.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "tests/check.h"
#include "tests/test_util.h"
#include "vmm/memory.h"

static void check_tables(struct guest_memory *mem, unsigned ncpus)
{
	const uint8_t *mpf = guest_memory_ptr(mem, LAYOUT_EBDA_START, 16);
	CHECK_MEM(mpf, "_MP_", 4);
	CHECK_EQ(test_sum8(mpf, 16), 0);
	CHECK_EQ(mpf[8], 1);
	CHECK_EQ(mpf[9], 4);
	CHECK_EQ(mpf[11], 0);                   /* a configuration table follows */
	uint64_t gpa = test_get_le(mpf + 4, 4);
	CHECK(ncpus <= 40 ? gpa == LAYOUT_EBDA_START + 16 : gpa == LAYOUT_MPTABLE_HIGH);
	const uint8_t *t = guest_memory_ptr(mem, gpa, 44);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_MEM(t, "PCMP", 4);
	uint16_t len = (uint16_t)test_get_le(t + 4, 2);
	CHECK(gpa + len <= (gpa == LAYOUT_MPTABLE_HIGH ? LAYOUT_MPTABLE_HIGH_END : LAYOUT_EBDA_END));
	t = guest_memory_ptr(mem, gpa, len);
	CHECK_EQ(test_sum8(t, len), 0);
	CHECK_EQ(t[6], 4);
	CHECK_EQ(test_get_le(t + 36, 4), LAYOUT_LAPIC);
	unsigned count = (unsigned)test_get_le(t + 34, 2);
	unsigned cpus = 0, bsps = 0, buses = 0, ioapics = 0, ints = 0, lints = 0;
	unsigned pin_of_irq[16];
	memset(pin_of_irq, 0xff, sizeof(pin_of_irq));
	unsigned o = 44, n;
	for (n = 0; n < count && o < len; n++) {
		const uint8_t *e = t + o;
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[1], cpus);
			CHECK(e[3] & 1);
			if (e[3] & 2) {
				bsps++;
				CHECK_EQ(e[1], 0);
			}
			cpus++;
			o += 20;
			break;
		case 1:
			CHECK_MEM(e + 2, "ISA   ", 6);
			buses++;
			o += 8;
			break;
		case 2:
			CHECK_EQ(e[1], ncpus);
			CHECK_EQ(e[3], 1);
			CHECK_EQ(test_get_le(e + 4, 4), LAYOUT_IOAPIC);
			ioapics++;
			o += 8;
			break;
		case 3:
			CHECK_EQ(e[1], 0);
			CHECK_EQ(e[6], ncpus);
			CHECK(e[5] < 16);
			if (e[5] < 16)
				pin_of_irq[e[5]] = e[7];
			CHECK_EQ(test_get_le(e + 2, 2), e[5] == 9 ? 0xd : 0);
			ints++;
			o += 8;
			break;
		case 4:
			CHECK_EQ(e[6], 0xff);
			CHECK_EQ(e[7], lints);          /* LINT0 ExtINT, then LINT1 NMI */
			CHECK_EQ(e[1], lints == 0 ? 3 : 1);
			lints++;
			o += 8;
			break;
		default:
			CHECK(!"unknown MP entry type");
			o = len;
		}
	}
	CHECK_EQ(n, count);
	CHECK_EQ(o, len);
	CHECK_EQ(cpus, ncpus);
	CHECK_EQ(bsps, 1);
	CHECK_EQ(buses, 1);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(ints, 15);
	CHECK_EQ(lints, 2);
	CHECK_EQ(pin_of_irq[0], 2);
	CHECK_EQ(pin_of_irq[2], 0xffffffffu);
	for (unsigned i = 3; i < 16; i++)
		CHECK_EQ(pin_of_irq[i], i);
}

int main(void)
{
	unsigned counts[] = { 1, 2, 4, 40, 41, 64, MPTABLE_MAX_CPUS };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct guest_memory mem;
		CHECK_EQ(guest_memory_init(&mem, 16 * LAYOUT_MiB), 0);
		CHECK_EQ(mptable_build(&mem, counts[i]), 0);
		check_tables(&mem, counts[i]);
		guest_memory_destroy(&mem);
	}

	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 16 * LAYOUT_MiB), 0);
	uint8_t *ebda = guest_memory_ptr(&mem, LAYOUT_EBDA_START, 1024);
	memset(ebda, 0x5a, 1024);
	CHECK_EQ(mptable_build(&mem, MPTABLE_MAX_CPUS + 1), -BOOT_ERR_NO_ROOM);
	CHECK_EQ(mptable_build(&mem, 1u << 31), -BOOT_ERR_NO_ROOM);
	CHECK_EQ(mptable_build(&mem, 0), -BOOT_ERR_UNSUPPORTED);
	CHECK(ebda[0] == 0x5a && ebda[1023] == 0x5a);
	guest_memory_destroy(&mem);

	struct guest_memory empty;
	memset(&empty, 0, sizeof(empty));
	CHECK_EQ(mptable_build(&empty, 1), -BOOT_ERR_NO_ROOM);
	return check_done();
}
