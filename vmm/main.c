/* vmm's entry point: parse the QEMU-style command line, run the machine, and
 * turn its outcome into the process exit status.
 *
 * Exit statuses:
 *   0            the guest powered off (ACPI S5, KVM shutdown event), reset
 *                with -no-reboot, the user typed Ctrl-A x, QMP quit, SIGINT,
 *                SIGHUP (ignored with -daemonize), or SIGTERM (ACPI power
 *                button first, then stopped after -shutdown-timeout)
 *   (v<<1)|1     the guest wrote v to isa-debug-exit (QEMU's convention)
 *   1            set-up error: bad option or value, missing or non-kernel
 *                file, -m more than the host has, no usable /dev/kvm
 *   2            guest crash: triple fault, KVM internal/emulation error,
 *                VM entry failure, unexpected HLT exit (a report is printed)
 *   3            internal VMM error after start (KVM_RUN failure, unknown exit)
 */
#include "vmm/cli.h"
#include "vmm/machine.h"
#include "vmm/daemon.h"
#include "vmm/log.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define VMM_VERSION "0.1"

/* -D/-d/-msg, -daemonize and -pidfile around the machine (docs/usage.md
 * "Headless servers"): the pidfile is written by the process that runs the
 * VM and removed on every return path. */
static int main_run_server(const struct vmm_config *cfg)
{
	char msg[512];
	log_set_level((enum vmm_log_level)cfg->log_level);
	log_set_timestamps(cfg->log_timestamps);
	if (cfg->log_file && log_open_file(cfg->log_file, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		return VMM_EXIT_SETUP;
	}
	if (cfg->daemonize) {
		int ret = daemon_start();
		if (ret < 0) {
			fprintf(stderr, "vmm: -daemonize: fork: %s\n", strerror(-ret));
			return VMM_EXIT_SETUP;
		}
	}
	int pid_fd = -1;
	if (cfg->pidfile) {
		pid_fd = daemon_pidfile_create(cfg->pidfile, msg, sizeof(msg));
		if (pid_fd < 0) {
			fprintf(stderr, "vmm: %s\n", msg);
			return VMM_EXIT_SETUP;
		}
	}
	int status = machine_run(cfg);
	daemon_pidfile_remove(cfg->pidfile, pid_fd);
	return status;
}

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
	return main_run_server(&cfg);
}
