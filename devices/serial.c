/* 16550A UART: register file, 16-byte RX FIFO, interrupt identification and
 * the PC's OUT2-gated IRQ line, following the National Semiconductor PC16550D
 * datasheet (tables II-IV: register summary, IIR priorities, LSR/MSR bits). */
#include "devices/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "devices/irq.h"
#include "vmm/bus.h"

#define FIFO_SIZE 16

/* Register offsets (DLAB selects DLL/DLM at 0/1). */
enum { REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
       REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7, NREGS = 8 };

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */

#define IIR_NONE    0x01
#define IIR_MSR     0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO    0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_BREAK 0x40
#define LCR_DLAB  0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR     0x01
#define LSR_OE     0x02
#define LSR_PE     0x04
#define LSR_FE     0x08
#define LSR_BI     0x10
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_RXFERR 0x80
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80

struct serial {
	pthread_mutex_t lock;
	struct bus *pio;
	uint16_t base;
	const struct vmm_irq *irq;
	uint32_t gsi;
	serial_tx_fn tx;
	void *tx_opaque;

	uint8_t rx[FIFO_SIZE];
	unsigned rx_head, rx_count;

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	int thr_ipending; /* THRE interrupt latched until IIR read or THR write */
	int irq_level;    /* what the line was last driven to */
};

static unsigned rx_capacity(const struct serial *s)
{
	/* With FIFOs off the 16550 behaves as a 16450: one holding register. */
	return (s->fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct serial *s)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };
	return (s->fcr & FCR_ENABLE) ? levels[s->fcr >> 6] : 1;
}

/* The highest-priority pending interrupt (datasheet table IV), IIR_NONE if
 * none. The character timeout is reported at once for data below the
 * trigger level: input arrives in bursts and the line is otherwise idle, so
 * the four character times have always elapsed by the time the guest looks. */
static uint8_t serial_pending(const struct serial *s)
{
	if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRORS))
		return IIR_RLS;
	if ((s->ier & IER_ERBFI) && s->rx_count)
		return s->rx_count >= rx_trigger(s) ? IIR_RDA : IIR_TIMEOUT;
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return IIR_THRE;
	if ((s->ier & IER_EDSSI) && (s->msr & (MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD)))
		return IIR_MSR;
	return IIR_NONE;
}

/* On a PC, OUT2 enables the UART's interrupt output buffer to the PIC. */
static void serial_update_irq(struct serial *s)
{
	int level = serial_pending(s) != IIR_NONE && (s->mcr & MCR_OUT2);
	if (level != s->irq_level) {
		s->irq_level = level;
		irq_set_line(s->irq, s->gsi, level);
	}
}

static void serial_update_lsr_dr(struct serial *s)
{
	if (s->rx_count)
		s->lsr |= LSR_DR;
	else
		s->lsr &= ~LSR_DR;
}

/* A character enters the receiver: into the FIFO, or lost with OE set. */
static void serial_rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count >= rx_capacity(s)) {
		s->lsr |= LSR_OE;
		if (!(s->fcr & FCR_ENABLE))
			s->rx[s->rx_head] = c; /* 16450: the new character overwrites RBR */
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % FIFO_SIZE] = c;
	s->rx_count++;
	serial_update_lsr_dr(s);
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	s->lsr &= ~(LSR_DR | LSR_RXFERR);
}

/* In loopback the modem inputs follow the MCR outputs (DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD); otherwise the host side always looks connected. */
static uint8_t serial_modem_inputs(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	uint8_t v = 0;
	if (s->mcr & MCR_DTR)
		v |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		v |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		v |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		v |= MSR_DCD;
	return v;
}

static void serial_update_msr(struct serial *s)
{
	uint8_t now = serial_modem_inputs(s), old = s->msr & 0xf0;
	uint8_t changed = now ^ old;
	uint8_t delta = s->msr & 0x0f;
	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI; /* trailing edge only */
	s->msr = now | delta;
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	s->thr_ipending = 0;
	if (s->mcr & MCR_LOOP)
		serial_rx_push(s, c);
	else if (s->tx)
		s->tx(s->tx_opaque, &c, 1);
	/* The line is infinitely fast: THR and the shift register are empty
	 * again at once, which is a new THRE event. */
	s->lsr |= LSR_THRE | LSR_TEMT;
	s->thr_ipending = 1;
}

static uint8_t serial_read_reg(struct serial *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_count)
			return s->rx[s->rx_head]; /* stale RBR, as hardware */
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % FIFO_SIZE;
		s->rx_count--;
		serial_update_lsr_dr(s);
		if (!s->rx_count)
			s->lsr &= ~LSR_RXFERR;
		return v;
	case REG_IER:
		if (s->lcr & LCR_DLAB)
			return s->dlm;
		return s->ier;
	case REG_IIR_FCR:
		v = serial_pending(s);
		if (v == IIR_THRE)
			s->thr_ipending = 0;
		return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		v = s->lsr;
		s->lsr &= ~(LSR_ERRORS | LSR_RXFERR);
		return v;
	case REG_MSR:
		v = s->msr;
		s->msr &= 0xf0;
		return v;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	uint8_t old;

	switch (reg) {
	case REG_RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case REG_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		old = s->ier;
		s->ier = v & 0x0f;
		/* Enabling ETBEI with THR empty raises THRE anew (Linux's
		 * UART_BUG_THRE probe and its TX start rely on this). */
		if (!(old & IER_ETBEI) && (s->ier & IER_ETBEI) && (s->lsr & LSR_THRE))
			s->thr_ipending = 1;
		break;
	case REG_IIR_FCR:
		if ((v ^ s->fcr) & FCR_ENABLE) {
			serial_rx_clear(s); /* changing the FIFO mode empties both FIFOs */
			s->thr_ipending = 1;
		}
		if (!(v & FCR_ENABLE)) {
			s->fcr = 0;
			break;
		}
		if (v & FCR_CLEAR_RX)
			serial_rx_clear(s);
		if (v & FCR_CLEAR_TX)
			s->thr_ipending = 1; /* the TX FIFO is always empty already */
		s->fcr = v & 0xc9;
		break;
	case REG_LCR:
		old = s->lcr;
		s->lcr = v;
		/* A break in loopback reaches the receiver as a zero character
		 * with BI set (datasheet: LSR bit 4). */
		if ((s->mcr & MCR_LOOP) && !(old & LCR_BREAK) && (v & LCR_BREAK)) {
			serial_rx_push(s, 0);
			s->lsr |= LSR_BI;
			if (s->fcr & FCR_ENABLE)
				s->lsr |= LSR_RXFERR;
		}
		break;
	case REG_MCR:
		s->mcr = v & 0x1f;
		serial_update_msr(s);
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* read-only (factory test writes are not modelled) */
	default:
		s->scr = v;
		break;
	}
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
	struct serial *s = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t reg = offset + i;
		uint8_t b = reg < NREGS ? serial_read_reg(s, (unsigned)reg) : 0xff;
		v |= (uint64_t)b << (8 * i);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void serial_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t reg = offset + i;
		if (reg < NREGS)
			serial_write_reg(s, (unsigned)reg, (uint8_t)(value >> (8 * i)));
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = { serial_read, serial_write };

int serial_create(struct serial **out, struct bus *pio, uint16_t base,
		  const struct vmm_irq *irq, uint32_t gsi, serial_tx_fn tx, void *tx_opaque)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	s->pio = pio;
	s->base = base;
	s->irq = irq;
	s->gsi = gsi;
	s->tx = tx;
	s->tx_opaque = tx_opaque;
	/* Power-on values (datasheet table I "Reset" column). */
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = serial_modem_inputs(s);
	s->dll = 0x0c; /* 9600 baud, what a PC BIOS leaves behind */
	int ret = bus_register(pio, base, NREGS, &serial_ops, s, "serial");
	if (ret < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	bus_unregister(s->pio, s->base, s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the receiver is disconnected from the line: hold input. */
	if (!(s->mcr & MCR_LOOP)) {
		while (n < len && s->rx_count < rx_capacity(s))
			serial_rx_push(s, buf[n++]);
		serial_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = (s->mcr & MCR_LOOP) ? 0 : rx_capacity(s) - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}
