/* The seccomp sandbox (docs/security.md): after set-up every thread runs
 * under a libseccomp allow-list; a syscall outside it ends the process with
 * one line on stderr, "vmm: seccomp: thread vcpu0 made forbidden syscall 59
 * (execve)", and exit status 3 (VMM_EXIT_INTERNAL). Two lists:
 *  - process (main/I/O thread, block worker threads, QMP): applied to every
 *    existing thread at once (SECCOMP_FILTER_FLAG_TSYNC) just before the
 *    vCPU threads start; inherited by threads created later;
 *  - vCPU: each vCPU thread adds it on top (filters stack: the stricter
 *    wins) before its first KVM_RUN; ioctl only with KVM (0xAE) and tty/tun
 *    (0x54) request types.
 * -sandbox on,action=log allows forbidden calls but has the kernel log them
 * (SECCOMP_RET_LOG, see dmesg/audit) for finding what a list is missing. */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

enum sandbox_mode { SANDBOX_OFF = 0, SANDBOX_KILL = 1, SANDBOX_LOG = 2 };

/* Installs the process allow-list on all threads (once; later calls, e.g.
 * after a guest reset, return 0). 0 or a negative errno (message printed). */
int sandbox_apply_process(enum sandbox_mode mode);

/* Called by each vCPU thread before every KVM_RUN: the first call after the
 * process list went in adds the vCPU allow-list to this thread; any other
 * call is a thread-local flag test (cheap next to a VM exit). So a vCPU
 * thread started before sandbox_apply_process() (on-demand start) gets the
 * process list at once (TSYNC) and its own list at its next exit from
 * KVM_RUN. Returns 0 or -errno (the thread must stop). */
int sandbox_enter_vcpu_thread(void);

/* Test hook: when the environment variable VMM_TEST_FORBIDDEN_SYSCALL names
 * this thread kind ("vcpu" or "main"), make a syscall no list allows
 * (personality(0xffffffff), a harmless query); a test checks that the process dies with the
 * seccomp line. A no-op otherwise. */
void sandbox_test_hook(const char *kind);

#endif
