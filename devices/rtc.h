/* MC146818 CMOS RTC at ports 0x70/0x71 (IRQ 8): the host's time in BCD or
 * binary, 12/24h, update-in-progress, periodic/alarm/update interrupts, and
 * the CMOS RAM that firmware reads (memory sizes, boot order). */
#ifndef VMM_DEVICES_RTC_H
#define VMM_DEVICES_RTC_H

#include <stdint.h>

struct bus;
struct vmm_irq;
struct rtc;

int rtc_create(struct rtc **out, struct bus *pio, const struct vmm_irq *irq, uint32_t gsi);
void rtc_destroy(struct rtc *r);
/* Set a CMOS RAM byte (index 0x0e..0x7f), e.g. the memory-size fields
 * 0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5b-0x5d that SeaBIOS reads. */
void rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t value);
/* Fill the memory-size fields from the RAM layout (below 4 GiB, above). */
void rtc_cmos_set_memory(struct rtc *r, uint64_t low_bytes, uint64_t high_bytes);

#endif
