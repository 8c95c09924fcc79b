/* i8042 keyboard controller, as much as a headless PC needs: status and data
 * ports (0x60/0x64) with an empty output buffer, the command byte, and the
 * CPU reset pulse (command 0xfe); plus System Control Port A (0x92), whose
 * bit 0 also resets. Both ask the machine for a reset via vm_control. */
#ifndef VMM_DEVICES_I8042_H
#define VMM_DEVICES_I8042_H

struct bus;
struct vm_control;
struct i8042;

int i8042_create(struct i8042 **out, struct bus *pio, const struct vm_control *ctl);
void i8042_destroy(struct i8042 *k);

#endif
