/* ACPI fixed-hardware PM block the FADT points at (boot/layout.h
 * LAYOUT_ACPI_PM1A_EVT/CNT/PM_TMR): PM1a status/enable, PM1a control with
 * sleep to S5 as power-off, the 24-bit PM timer, the SCI, and the 0xcf9
 * Reset Control Register as the FADT's RESET_REG (ACPI 6.4 section 4.8). */
#ifndef VMM_DEVICES_ACPI_PM_H
#define VMM_DEVICES_ACPI_PM_H

#include <stdint.h>

struct bus;
struct bus_ops;
struct vmm_irq;
struct vm_control;
struct acpi_pm;

/* PM1 status/enable bits (ACPI 6.4 tables 4.16, 4.17) and control bits
 * (table 4.18). */
#define ACPI_PM1_TMR_STS     0x0001
#define ACPI_PM1_GBL_STS     0x0020
#define ACPI_PM1_PWRBTN_STS  0x0100
#define ACPI_PM1_SLPBTN_STS  0x0200
#define ACPI_PM1_RTC_STS     0x0400
#define ACPI_PM1_WAK_STS     0x8000
#define ACPI_PM1_TMR_EN      0x0001
#define ACPI_PM1_GBL_EN      0x0020
#define ACPI_PM1_PWRBTN_EN   0x0100
#define ACPI_PM1_SLPBTN_EN   0x0200
#define ACPI_PM1_RTC_EN      0x0400
#define ACPI_PM1_CNT_SCI_EN  0x0001
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_EN  0x2000
#define ACPI_PM_TIMER_HZ     3579545

/* Registers LAYOUT_ACPI_PM_LEN ports at LAYOUT_PORT_ACPI_PM on pio; the SCI
 * is GSI gsi (level, active high: the MADT must say so for IRQ 9). SCI_EN
 * starts set (the platform is in ACPI mode; the FADT has no SMI_CMD).
 * Returns 0 or a negative errno (-EEXIST if the ports are taken). */
int acpi_pm_create(struct acpi_pm **out, struct bus *pio, const struct vmm_irq *irq,
		   uint32_t gsi, const struct vm_control *ctl);
void acpi_pm_destroy(struct acpi_pm *pm);

/* The user pressed the power button (QMP system_powerdown): PWRBTN_STS is
 * set and the SCI raised if the guest enabled it. Thread-safe. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* The Reset Control Register at 0xcf9 (byte access, offset 0; opaque is the
 * struct acpi_pm): a write with RST_CPU (bit 2) set, e.g. 0x06 or 0x0e,
 * requests a reset. The PCI host owns that port, so the machine passes
 * these ops to pci_host_set_cf9_handler() rather than registering them. */
extern const struct bus_ops acpi_pm_cf9_ops;

#endif
