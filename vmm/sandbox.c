/* The seccomp sandbox: loads the allow-lists for the main/I/O thread (and
 * every other non-vCPU thread) and for vCPU threads, compiled to BPF at build
 * time (vmm/sandbox_lists.c through vmm/sandbox_gen.c: sandbox_bpf.h), with
 * seccomp(2); a SIGSYS handler that names the offending thread and syscall
 * (SECCOMP_RET_TRAP), and the forbidden-syscall test hook. Linux seccomp(2). */
#include "vmm/sandbox.h"
#include "vmm/log.h"

#include "sandbox_bpf.h"     /* generated: sandbox_bpf[][][], sandbox_sysnames[] */
#include "vmm/sandbox_lists.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER 1                       /* sandbox_lists.h: the ASan/LSan extras */
#else
#define SANITIZER 0
#endif
static enum sandbox_mode applied_mode;
static __thread char thread_name[17];     /* read before the filter: no syscall in the handler */
static __thread int vcpu_filtered;        /* this vCPU thread has stacked its list */
static int applied;                       /* process list in (atomic: vCPU threads poll it) */

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	const char *comm = thread_name[0] ? thread_name : "io-worker";
	char line[160];
	int nr = si->si_syscall, n;
	const char *name = nr >= 0 && nr < SANDBOX_NSYSNAMES && sandbox_sysnames[nr] ? sandbox_sysnames[nr] : "?";

	(void)sig;
	(void)uc;
	n = snprintf(line, sizeof(line), "vmm: seccomp: thread %s made forbidden syscall %d (%s)\n",
		     comm, nr, name);
	if (n > 0 && write(2, line, (size_t)n) < 0)
		n = 0;
	syscall(SYS_exit_group, 3);
}

/* Loads a generated program on this thread (flags: SECCOMP_FILTER_FLAG_TSYNC
 * for all threads). 0 or -errno. */
static int load(enum sandbox_list list, unsigned flags)
{
	struct sock_fprog prog = {
		.len = sandbox_bpf[SANITIZER][applied_mode == SANDBOX_LOG][list].len,
		.filter = (struct sock_filter *)sandbox_bpf[SANITIZER][applied_mode == SANDBOX_LOG][list].insns,
	};
	long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);

	if (ret > 0)          /* TSYNC: this thread id could not be synchronised */
		return -EAGAIN;
	return ret < 0 ? -errno : 0;
}

int sandbox_apply_process(enum sandbox_mode mode)
{
	struct sigaction sa;
	int ret;

	if (mode == SANDBOX_OFF || __atomic_load_n(&applied, __ATOMIC_ACQUIRE))
		return 0;
	prctl(PR_GET_NAME, thread_name, 0, 0, 0);
	/* Lazy libc initialisations that open files must happen now: glibc
	 * reads /etc/localtime on the first gmtime_r() (the RTC's). */
	{
		time_t t = 0;
		struct tm tm;

		tzset();
		gmtime_r(&t, &tm);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	applied_mode = mode;
	/* Unprivileged filters need no_new_privs; inherited by every thread. */
	ret = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
	if (ret == 0)
		ret = load(SANDBOX_LIST_PROCESS, SECCOMP_FILTER_FLAG_TSYNC);
	if (ret < 0) {
		fprintf(stderr, "vmm: -sandbox: cannot install the seccomp filter: %s\n", strerror(-ret));
		return ret;
	}
	__atomic_store_n(&applied, 1, __ATOMIC_RELEASE);
	log_msg(VMM_LOG_DEBUG, "seccomp sandbox on (%s)", mode == SANDBOX_LOG ? "log" : "kill");
	return 0;
}

int sandbox_enter_vcpu_thread(void)
{
	int ret;

	if (vcpu_filtered || !__atomic_load_n(&applied, __ATOMIC_ACQUIRE))
		return 0;
	prctl(PR_GET_NAME, thread_name, 0, 0, 0);
	/* no_new_privs is inherited from the thread that created this one, or
	 * was set for it by TSYNC with the process filter. */
	ret = load(SANDBOX_LIST_VCPU, 0);
	if (ret < 0)
		fprintf(stderr, "vmm: -sandbox: vCPU thread filter: %s\n", strerror(-ret));
	else
		vcpu_filtered = 1;
	return ret;
}

void sandbox_test_hook(const char *kind)
{
	const char *want = getenv("VMM_TEST_FORBIDDEN_SYSCALL");

	if (want && strcmp(want, kind) == 0)
		syscall(SYS_personality, 0xffffffffUL);
}
