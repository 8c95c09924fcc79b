/* The interrupt interface devices use. Devices do not know about KVM: they
 * raise a GSI line (ISA/IOAPIC pin) or send an MSI message through these
 * callbacks, which vmm/ implements with KVM_IRQ_LINE and KVM_SIGNAL_MSI or
 * irqfd. Unit tests implement them with a recorder. */
#ifndef VMM_DEVICES_IRQ_H
#define VMM_DEVICES_IRQ_H

#include <stdint.h>

struct vmm_irq {
	/* Drive GSI line gsi to level (0 or 1). Edge-triggered ISA devices
	 * pulse it (1 then 0). Returns 0 or a negative errno. */
	int (*set_line)(void *opaque, uint32_t gsi, int level);
	/* Deliver one MSI (address/data as written by the guest). */
	int (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *opaque;
};

static inline int irq_set_line(const struct vmm_irq *irq, uint32_t gsi, int level)
{
	return irq->set_line(irq->opaque, gsi, level);
}

static inline int irq_send_msi(const struct vmm_irq *irq, uint64_t addr, uint32_t data)
{
	return irq->send_msi(irq->opaque, addr, data);
}

#endif
