/* isa-debug-exit, as QEMU's: a write of value v to its port ends the VM with
 * process exit status (v << 1) | 1. `-device isa-debug-exit,iobase=0xf4,iosize=4`. */
#ifndef VMM_DEVICES_DEBUG_EXIT_H
#define VMM_DEVICES_DEBUG_EXIT_H

#include <stdint.h>

struct bus;
struct vm_control;
struct debug_exit;

int debug_exit_create(struct debug_exit **out, struct bus *pio, uint16_t iobase,
		      uint16_t iosize, const struct vm_control *ctl);
void debug_exit_destroy(struct debug_exit *d);

#endif
