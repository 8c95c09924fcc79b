/* i8042 keyboard controller, headless: the controller commands firmware and
 * kernels use to probe it and to reset the CPU (IBM PC/AT Technical
 * Reference, "Keyboard Controller"; QEMU hw/input/pckbd.c), and System
 * Control Port A at 0x92 (fast reset and A20). No keyboard or mouse sits
 * behind it, so it never raises IRQ 1 or 12. */
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/layout.h"
#include "devices/vm_control.h"
#include "vmm/bus.h"

#define STAT_OBF    0x01 /* output buffer full */
#define STAT_SYS    0x04 /* system flag (self-test passed) */
#define STAT_CMD    0x08 /* last write went to the command port */
#define STAT_UNLOCK 0x10 /* keyboard not inhibited by the key lock */

#define CB_KBD_INT  0x01
#define CB_SYS      0x04
#define CB_KBD_DIS  0x10
#define CB_AUX_DIS  0x20
#define CB_XLATE    0x40

#define OUT_RESET   0x01 /* output port bit 0: CPU reset line, active low */
#define OUT_A20     0x02

#define PORTA_RESET 0x01 /* port 0x92 bit 0: fast reset */
#define PORTA_A20   0x02

struct i8042 {
	pthread_mutex_t lock;
	struct bus *pio;
	const struct vm_control *ctl;
	uint8_t cmd_byte;
	uint8_t out_buf;     /* last byte put in the output buffer */
	int obf;             /* output buffer holds an unread byte */
	int last_was_cmd;
	uint8_t pending_cmd; /* command waiting for its data byte (0x60, 0xd1) */
	uint8_t outport;
	uint8_t port_a;
};

static void i8042_output(struct i8042 *k, uint8_t v)
{
	k->out_buf = v;
	k->obf = 1;
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t s = STAT_UNLOCK;
	if (k->cmd_byte & CB_SYS)
		s |= STAT_SYS;
	if (k->last_was_cmd)
		s |= STAT_CMD;
	if (k->obf)
		s |= STAT_OBF;
	return s;
}

/* Returns 1 when the guest asked for a CPU reset (to be requested after the
 * lock is dropped). */
static int i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->pending_cmd = 0;
	switch (cmd) {
	case 0x20: /* read command byte */
		i8042_output(k, k->cmd_byte);
		break;
	case 0x60: /* write command byte: data follows */
	case 0xd1: /* write output port: data follows */
		k->pending_cmd = cmd;
		break;
	case 0xa7:
		k->cmd_byte |= CB_AUX_DIS;
		break;
	case 0xa8:
		k->cmd_byte &= ~CB_AUX_DIS;
		break;
	case 0xa9: /* aux interface test: no error */
	case 0xab: /* keyboard interface test: no error */
		i8042_output(k, 0x00);
		break;
	case 0xaa: /* controller self-test */
		k->cmd_byte |= CB_SYS;
		i8042_output(k, 0x55);
		break;
	case 0xad:
		k->cmd_byte |= CB_KBD_DIS;
		break;
	case 0xae:
		k->cmd_byte &= ~CB_KBD_DIS;
		break;
	case 0xc0: /* read input port: keyboard not inhibited */
		i8042_output(k, 0x80);
		break;
	case 0xd0: /* read output port */
		i8042_output(k, k->outport);
		break;
	case 0xdd:
		k->outport &= ~OUT_A20;
		break;
	case 0xdf:
		k->outport |= OUT_A20;
		break;
	default:
		/* 0xf0-0xff pulse output port bits 0-3 low for each 0 bit in
		 * the command's low nibble; bit 0 is the CPU reset line. */
		if (cmd >= 0xf0 && !(cmd & OUT_RESET))
			return 1;
		break;
	}
	return 0;
}

static int i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;
	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		k->cmd_byte = v;
		break;
	case 0xd1:
		k->outport = v | OUT_RESET;
		return !(v & OUT_RESET);
	default:
		break; /* bytes for the (absent) keyboard are dropped */
	}
	return 0;
}

static uint64_t i8042_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = k->out_buf; /* data port: reading an empty buffer repeats the last byte */
	k->obf = 0;
	pthread_mutex_unlock(&k->lock);
	return v;
}

/* A byte written to the data (is_cmd 0) or command port (1); a reset it
 * asks for is requested after the lock is dropped. */
static void i8042_port_write(struct i8042 *k, int is_cmd, uint8_t value)
{
	int reset;

	pthread_mutex_lock(&k->lock);
	k->last_was_cmd = is_cmd;
	reset = is_cmd ? i8042_command(k, value) : i8042_data(k, value);
	pthread_mutex_unlock(&k->lock);
	if (reset)
		k->ctl->reset(k->ctl->opaque);
}

static void i8042_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	i8042_port_write(opaque, 0, (uint8_t)value);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = i8042_status(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	i8042_port_write(opaque, 1, (uint8_t)value);
}

static uint64_t port_a_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = k->port_a;
	pthread_mutex_unlock(&k->lock);
	return v;
}

/* Bit 0 is stored as 0 (as QEMU's port92 does), so every write that sets it
 * is a rising edge and resets, also after the machine has restarted. */
static void port_a_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->port_a = (uint8_t)value & ~PORTA_RESET;
	pthread_mutex_unlock(&k->lock);
	if (value & PORTA_RESET)
		k->ctl->reset(k->ctl->opaque);
}

static const struct bus_ops i8042_data_ops = { i8042_read, i8042_write };
static const struct bus_ops i8042_cmd_ops = { i8042_cmd_read, i8042_cmd_write };
static const struct bus_ops port_a_ops = { port_a_read, port_a_write };

int i8042_create(struct i8042 **out, struct bus *pio, const struct vm_control *ctl)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	k->pio = pio;
	k->ctl = ctl;
	/* What a BIOS leaves: translation, system flag, keyboard interrupt. */
	k->cmd_byte = CB_XLATE | CB_SYS | CB_KBD_INT;
	k->outport = OUT_RESET | OUT_A20;
	k->port_a = PORTA_A20;
	ret = bus_register(pio, LAYOUT_PORT_I8042_DATA, 1, &i8042_data_ops, k, "i8042");
	if (ret < 0)
		goto fail;
	ret = bus_register(pio, LAYOUT_PORT_I8042_CMD, 1, &i8042_cmd_ops, k, "i8042");
	if (ret < 0)
		goto fail_data;
	ret = bus_register(pio, LAYOUT_PORT_A20_RESET, 1, &port_a_ops, k, "port92");
	if (ret < 0)
		goto fail_cmd;
	*out = k;
	return 0;
fail_cmd:
	bus_unregister(pio, LAYOUT_PORT_I8042_CMD, k);
fail_data:
	bus_unregister(pio, LAYOUT_PORT_I8042_DATA, k);
fail:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return ret;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	bus_unregister(k->pio, LAYOUT_PORT_A20_RESET, k);
	bus_unregister(k->pio, LAYOUT_PORT_I8042_CMD, k);
	bus_unregister(k->pio, LAYOUT_PORT_I8042_DATA, k);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
