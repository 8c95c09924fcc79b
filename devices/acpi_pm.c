/* ACPI PM1a event/control blocks, PM timer and reset register (ACPI 6.4
 * sections 4.8.3.1-4.8.3.3, 4.8.4, FADT RESET_REG; Intel ICH9 datasheet
 * 13.7.5 for 0xcf9). The timer status bit is computed when read; no SCI is
 * raised for it asynchronously (no timer thread), which OSPMs do not need. */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "boot/layout.h"
#include "devices/irq.h"
#include "devices/vm_control.h"
#include "vmm/bus.h"

#define OFF_STS 0
#define OFF_EN  2
#define OFF_CNT 4
#define OFF_TMR 8

#define STS_MASK (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
		  ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS | ACPI_PM1_WAK_STS)
#define EN_MASK  (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | \
		  ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN)
/* SCI_EN, BM_RLD, GBL_RLS and SLP_TYP are kept; SLP_EN reads as 0. */
#define CNT_MASK 0x1c07
#define SLP_TYP(cnt) (((cnt) >> ACPI_PM1_CNT_SLP_TYP_SHIFT) & 7)

struct acpi_pm {
	pthread_mutex_t lock;
	struct bus *pio;
	const struct vmm_irq *irq;
	uint32_t gsi;
	const struct vm_control *ctl;
	uint16_t sts, en, cnt;
	uint64_t tmr_base_ns;   /* CLOCK_MONOTONIC at creation: the timer's zero */
	uint64_t tmr_epoch;     /* ticks >> 23 when TMR_STS was last cleared */
	int sci_level;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Full-width tick count since creation; the register shows the low 24 bits. */
static uint64_t pm_ticks(const struct acpi_pm *pm)
{
	unsigned __int128 ns = mono_ns() - pm->tmr_base_ns;
	return (uint64_t)(ns * ACPI_PM_TIMER_HZ / 1000000000u);
}

/* TMR_STS is set whenever bit 23 of the counter has toggled since it was
 * last cleared (ACPI 6.4 4.8.3.3). */
static uint16_t pm_status(const struct acpi_pm *pm)
{
	uint16_t sts = pm->sts;
	if ((pm_ticks(pm) >> 23) != pm->tmr_epoch)
		sts |= ACPI_PM1_TMR_STS;
	return sts;
}

static void pm_update_sci(struct acpi_pm *pm)
{
	int level = (pm->cnt & ACPI_PM1_CNT_SCI_EN) && (pm_status(pm) & pm->en & EN_MASK);
	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_set_line(pm->irq, pm->gsi, level);
	}
}

static uint8_t pm_read_byte(struct acpi_pm *pm, unsigned off)
{
	uint16_t v;
	switch (off & ~1u) {
	case OFF_STS: v = pm_status(pm); break;
	case OFF_EN:  v = pm->en; break;
	case OFF_CNT: v = pm->cnt; break;
	case OFF_TMR: v = (uint16_t)(pm_ticks(pm) & 0xffff); break;
	case OFF_TMR + 2: v = (uint16_t)((pm_ticks(pm) >> 16) & 0xff); break;
	default: return 0xff;
	}
	return (uint8_t)(v >> (8 * (off & 1)));
}

/* Returns 1 when the guest entered S5 (power-off, requested by the caller
 * after the lock is dropped). */
static int pm_write_byte(struct acpi_pm *pm, unsigned off, uint8_t b)
{
	unsigned shift = 8 * (off & 1);
	uint16_t v = (uint16_t)(b << shift);

	switch (off & ~1u) {
	case OFF_STS:
		if (v & ACPI_PM1_TMR_STS)
			pm->tmr_epoch = pm_ticks(pm) >> 23;
		pm->sts &= ~(v & STS_MASK); /* write 1 to clear */
		return 0;
	case OFF_EN:
		pm->en = (uint16_t)((pm->en & ~(0xff << shift)) | v) & EN_MASK;
		return 0;
	case OFF_CNT:
		pm->cnt = (uint16_t)((pm->cnt & ~(0xff << shift)) | (v & CNT_MASK));
		if ((v & ACPI_PM1_CNT_SLP_EN) && SLP_TYP(pm->cnt) == LAYOUT_ACPI_SLP_TYP_S5)
			return 1;
		/* Other sleep states are not supported: the write is ignored
		 * and the guest carries on as if it had woken at once. */
		if (v & ACPI_PM1_CNT_SLP_EN)
			pm->sts |= ACPI_PM1_WAK_STS;
		return 0;
	default:
		return 0; /* the timer is read-only */
	}
}

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)pm_read_byte(pm, (unsigned)offset + i) << (8 * i);
	pthread_mutex_unlock(&pm->lock);
	return v;
}

static void pm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = opaque;
	int off = 0;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size; i++)
		off |= pm_write_byte(pm, (unsigned)offset + i, (uint8_t)(value >> (8 * i)));
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (off)
		pm->ctl->poweroff(pm->ctl->opaque);
}

static const struct bus_ops pm_ops = { pm_read, pm_write };

static uint64_t cf9_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0;
}

static void cf9_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = opaque;
	if (value & 0x04) /* RST_CPU */
		pm->ctl->reset(pm->ctl->opaque);
}

const struct bus_ops acpi_pm_cf9_ops = { cf9_read, cf9_write };

int acpi_pm_create(struct acpi_pm **out, struct bus *pio, const struct vmm_irq *irq,
		   uint32_t gsi, const struct vm_control *ctl)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pthread_mutex_init(&pm->lock, NULL);
	pm->pio = pio;
	pm->irq = irq;
	pm->gsi = gsi;
	pm->ctl = ctl;
	pm->cnt = ACPI_PM1_CNT_SCI_EN;
	pm->tmr_base_ns = mono_ns();
	int ret = bus_register(pio, LAYOUT_PORT_ACPI_PM, LAYOUT_ACPI_PM_LEN, &pm_ops, pm, "acpi-pm");
	if (ret < 0) {
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return ret;
	}
	*out = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	bus_unregister(pm->pio, LAYOUT_PORT_ACPI_PM, pm);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN_STS;
	pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}
