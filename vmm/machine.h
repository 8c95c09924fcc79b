/* The vmm PC board: brings up memory, the KVM VM, buses, devices, the boot
 * image and vCPUs, then runs the main thread's event loop until the guest
 * powers off, exits, crashes or the user quits; resets rebuild the board. */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stddef.h>
#include <stdint.h>

struct vmm_config;

/* Process exit statuses (see main.c). */
enum {
	VMM_EXIT_OK = 0,        /* guest powered off, -no-reboot reset, Ctrl-A x */
	VMM_EXIT_SETUP = 1,     /* bad option, missing file, no /dev/kvm */
	VMM_EXIT_CRASH = 2,     /* triple fault, internal/emulation error, entry failure */
	VMM_EXIT_INTERNAL = 3,  /* a VMM bug or host failure after start */
};

/* Runs the VM described by cfg; returns the process exit status. Set-up
 * errors are printed as one line "vmm: ..." on stderr. Once the VM has run,
 * release builds return without freeing the machine, unmapping guest RAM or
 * closing the VM (images are flushed and closed, the terminal restored):
 * the caller must exit. */
int machine_run(const struct vmm_config *cfg);

#endif
