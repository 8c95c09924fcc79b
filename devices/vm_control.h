/* Requests a device can make of the VM's lifecycle (reset through the i8042
 * or port 0x92, power-off through ACPI, exit through isa-debug-exit). The
 * machine implements them by posting an event to the main thread; they are
 * safe to call from vCPU threads and never block. */
#ifndef VMM_DEVICES_VM_CONTROL_H
#define VMM_DEVICES_VM_CONTROL_H

struct vm_control {
	void (*reset)(void *opaque);              /* guest asked for a system reset */
	void (*poweroff)(void *opaque);           /* guest powered off (exit 0) */
	void (*exit)(void *opaque, int status);   /* process exit status (debug-exit) */
	void *opaque;
};

#endif
