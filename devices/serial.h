/* 16550A UART (COM1 at 0x3f8, IRQ 4): divisor latch, 16-byte RX/TX FIFOs,
 * LSR/IIR/MSR/MCR semantics and interrupts (incl. loopback), as the
 * National Semiconductor PC16550D datasheet describes. Host-side I/O goes
 * through callbacks, so the model knows nothing of terminals or sockets. */
#ifndef VMM_DEVICES_SERIAL_H
#define VMM_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

struct bus;
struct vmm_irq;
struct serial;

/* Called (from a vCPU thread, device lock held) with bytes the guest sent. */
typedef void (*serial_tx_fn)(void *opaque, const uint8_t *buf, size_t len);

int serial_create(struct serial **out, struct bus *pio, uint16_t base,
		  const struct vmm_irq *irq, uint32_t gsi, serial_tx_fn tx, void *tx_opaque);
void serial_destroy(struct serial *s);

/* Host input: queues up to len bytes into the RX FIFO and raises the
 * interrupt as programmed. Returns the number of bytes accepted (0 when the
 * FIFO is full; the caller keeps the rest and retries later). Thread-safe. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

/* Free space in the RX FIFO right now. Thread-safe. */
size_t serial_rx_space(struct serial *s);

#endif
