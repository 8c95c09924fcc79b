/* Intel MultiProcessor Specification 1.4 tables (chapter 4): the MP floating
 * pointer structure (4.1) and the configuration table (4.2, 4.3): processor,
 * bus, I/O APIC, I/O interrupt and local interrupt entries, for the board of
 * boot/layout.h (ISA IRQ n on IOAPIC pin n, except the PIT's IRQ0 on pin 2). */
#include "boot/mptable.h"

#include <string.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "vmm/memory.h"

#define MPF_LEN      16
#define HDR_LEN      44
#define CPU_LEN      20
#define ENTRY_LEN    8
#define NUM_ISA_IRQS 15      /* 0..15 without 2: IRQ0 owns IOAPIC pin 2 */

static uint8_t *intr(uint8_t *e, uint8_t type, uint8_t irqtype, uint16_t flags,
		     uint8_t bus_irq, uint8_t dst_id, uint8_t dst_pin)
{
	e[0] = type;
	e[1] = irqtype;
	boot_put_le(e + 2, flags, 2);
	e[4] = 0;                               /* source bus: ISA, bus 0 */
	e[5] = bus_irq;
	e[6] = dst_id;
	e[7] = dst_pin;
	return e + ENTRY_LEN;
}

int mptable_build(struct guest_memory *mem, unsigned ncpus)
{
	if (ncpus == 0)
		return -BOOT_ERR_UNSUPPORTED;
	if (ncpus > MPTABLE_MAX_CPUS)
		return -BOOT_ERR_NO_ROOM;
	size_t len = HDR_LEN + CPU_LEN * (size_t)ncpus + ENTRY_LEN * (2 + NUM_ISA_IRQS + 2);
	uint64_t mpf_gpa = LAYOUT_EBDA_START;
	uint64_t table_gpa = LAYOUT_EBDA_START + MPF_LEN;
	if (table_gpa + len > LAYOUT_EBDA_END)
		table_gpa = LAYOUT_MPTABLE_HIGH;
	if (table_gpa + len > (table_gpa == LAYOUT_MPTABLE_HIGH ? LAYOUT_MPTABLE_HIGH_END : LAYOUT_EBDA_END))
		return -BOOT_ERR_NO_ROOM;
	uint8_t *mpf = guest_memory_ptr(mem, mpf_gpa, MPF_LEN);
	uint8_t *t = guest_memory_ptr(mem, table_gpa, len);
	if (!mpf || !t)
		return -BOOT_ERR_NO_ROOM;
	uint8_t ioapic_id = (uint8_t)ncpus;

	memset(t, 0, len);
	memcpy(t, "PCMP", 4);
	boot_put_le(t + 4, len, 2);                     /* base table length */
	t[6] = 4;                               /* spec revision 1.4 */
	memcpy(t + 8, "VMM     ", 8);           /* OEM ID */
	memcpy(t + 16, "VMM PC      ", 12);     /* product ID */
	boot_put_le(t + 34, ncpus + 2 + NUM_ISA_IRQS + 2, 2);   /* entry count */
	boot_put_le(t + 36, LAYOUT_LAPIC, 4);

	uint8_t *e = t + HDR_LEN;
	for (unsigned i = 0; i < ncpus; i++, e += CPU_LEN) {
		e[0] = 0;                       /* processor */
		e[1] = (uint8_t)i;              /* local APIC ID */
		e[2] = 0x14;                    /* local APIC version (integrated) */
		e[3] = 0x01 | (i == 0 ? 0x02 : 0);   /* EN, BP on CPU 0 */
		boot_put_le(e + 4, 0x600, 4);           /* CPU signature: family 6 */
		boot_put_le(e + 8, 0x201, 4);           /* feature flags: FPU, APIC */
	}
	e[0] = 1;                               /* bus */
	e[1] = 0;
	memcpy(e + 2, "ISA   ", 6);
	e += ENTRY_LEN;
	e[0] = 2;                               /* I/O APIC */
	e[1] = ioapic_id;
	e[2] = 0x11;                            /* version */
	e[3] = 0x01;                            /* EN */
	boot_put_le(e + 4, LAYOUT_IOAPIC, 4);
	e += ENTRY_LEN;
	for (unsigned irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;
		/* The SCI is level-triggered, active high (devices/acpi_pm.h). */
		uint16_t flags = irq == LAYOUT_IRQ_ACPI_SCI ? 0x000d : 0;
		e = intr(e, 3, 0 /* INT */, flags, (uint8_t)irq, ioapic_id,
			 (uint8_t)(irq == 0 ? 2 : irq));
	}
	e = intr(e, 4, 3 /* ExtINT */, 0, 0, 0xff, 0);   /* LINT0 of every CPU */
	intr(e, 4, 1 /* NMI */, 0, 0, 0xff, 1);          /* LINT1 */
	t[7] = boot_checksum(t, len);

	memset(mpf, 0, MPF_LEN);
	memcpy(mpf, "_MP_", 4);
	boot_put_le(mpf + 4, table_gpa, 4);
	mpf[8] = 1;                             /* length in 16-byte units */
	mpf[9] = 4;                             /* spec revision 1.4 */
	mpf[10] = boot_checksum(mpf, MPF_LEN);
	return 0;
}
