/* vmm's entry point: parse the QEMU-style command line, run the machine, and
 * turn its outcome into the process exit status.
 *
 * Exit statuses:
 *   0            the guest powered off (ACPI S5, KVM shutdown event), reset
 *                with -no-reboot, the user typed Ctrl-A x, or SIGINT/SIGTERM/SIGHUP
 *   (v<<1)|1     the guest wrote v to isa-debug-exit (QEMU's convention)
 *   1            set-up error: bad option or value, missing or non-kernel
 *                file, -m more than the host has, no usable /dev/kvm
 *   2            guest crash: triple fault, KVM internal/emulation error,
 *                VM entry failure, unexpected HLT exit (a report is printed)
 *   3            internal VMM error after start (KVM_RUN failure, unknown exit)
 */
#include "vmm/cli.h"
#include "vmm/machine.h"

#include <signal.h>
#include <stdio.h>

#define VMM_VERSION "0.1"

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	char err[512];

	if (cli_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmm: %s\n", err);
		return VMM_EXIT_SETUP;
	}
	if (cfg.help) {
		fputs(cli_usage(), stdout);
		return VMM_EXIT_OK;
	}
	if (cfg.version) {
		printf("vmm version " VMM_VERSION "\n");
		return VMM_EXIT_OK;
	}
	/* A serial client or stdout reader going away must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	return machine_run(&cfg);
}
