/* Host side of the serial port: stdio (raw terminal with QEMU's Ctrl-A
 * escapes), file:PATH (output only), unix:PATH,server,nowait (one client at a
 * time), pty (a new pseudo-terminal) and null. Output is written from vCPU
 * threads; input is read by the main thread's event loop and handed to a
 * receiver with back-pressure. */
#ifndef VMM_CHARDEV_H
#define VMM_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/cli.h"

struct event_loop;
struct chardev;

/* Accepts up to len bytes, returns how many it took (serial_receive()). */
typedef size_t (*chardev_rx_fn)(void *opaque, const uint8_t *buf, size_t len);

/* Opens the backend and registers its input in loop. quit() is called from
 * the main thread when the user types Ctrl-A x. Returns 0 or -errno with a
 * one-line message in msg that starts with opt, the option the backend came
 * from ("-serial", "-debugcon"). The terminal (stdio on a tty) is put in raw
 * mode and restored on exit, on error exits and on fatal signals. */
int chardev_open(struct chardev **out, const char *opt, enum serial_backend backend,
		 const char *path, struct event_loop *loop, void (*quit)(void *opaque),
		 void *quit_opaque, char *msg, size_t msglen);

/* Where input goes (NULL: held until a receiver is set). Main thread only. */
void chardev_set_receiver(struct chardev *c, chardev_rx_fn fn, void *opaque);

/* Output from the guest; signature of serial_tx_fn. Thread-safe, never
 * blocks on a socket (bytes are dropped when no client is connected). */
void chardev_write(void *chardev, const uint8_t *buf, size_t len);

/* Unregisters, closes, restores the terminal. NULL is fine. */
void chardev_close(struct chardev *c);

/* Restores the terminal if chardev put it in raw mode (idempotent,
 * async-signal-safe). */
void chardev_restore_terminal(void);

#endif
