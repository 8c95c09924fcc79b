/* The seccomp allow-lists of vmm's sandbox, built with libseccomp: one list
 * for the main/I/O thread and every other non-vCPU thread, one for vCPU
 * threads (stacked on the first). Build-time only (see sandbox_lists.h).
 * Linux seccomp(2), libseccomp seccomp_rule_add(3). */
#include "vmm/sandbox_lists.h"

#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>

/* Syscalls of everything but the vCPU threads: the event loop, chardevs,
 * QMP clients, block I/O (io_uring and the thread pool), timers, signals,
 * and guest reset (machine_bring_up() runs again: it reopens /dev/kvm, the
 * kernel and maps RAM). Not here: execve, fork-free process creation,
 * ptrace, socket/connect/bind, mount, chroot, setuid and friends, bpf,
 * kexec, module loading, perf, keyctl, ... */
static const int process_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(fstatfs),   /* raw.c: is an image opened by QMP (a new CD medium) on tmpfs? */
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(fallocate), SCMP_SYS(ftruncate),
	SCMP_SYS(sync_file_range), SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(getdents64),
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(flock),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_create1), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(eventfd2), SCMP_SYS(signalfd4), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime), SCMP_SYS(memfd_create),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mremap),
	SCMP_SYS(brk), SCMP_SYS(mlock), SCMP_SYS(munlock),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigtimedwait), SCMP_SYS(tgkill), SCMP_SYS(tkill), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe2),
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register), SCMP_SYS(io_uring_setup),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit), SCMP_SYS(restart_syscall),
	SCMP_SYS(membarrier), SCMP_SYS(getcwd), SCMP_SYS(umask),
	SCMP_SYS(seccomp),      /* only adds restrictions: the vCPU threads stack their list */
};

/* ASan/LSan builds, both lists: thread exit tears down ASan's alternate
 * signal stack; LeakSanitizer's exit-time check stops the world with a
 * ptrace-ing helper thread (clone, ptrace, wait4, prctl, /proc/self/task).
 * That tracer lists /proc/PID/task with the old getdents (sanitizer
 * internal_getdents() on x86-64, syscall 78), not getdents64: without it the
 * tracer, whose signals are all blocked, dies of SIGSYS and the exiting
 * thread spins forever waiting for it (found with action=log: the kernel
 * logged only syscall=78). */
static const int sanitizer_calls[] = {
	SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(prctl), SCMP_SYS(sched_getparam),
	SCMP_SYS(getrlimit), SCMP_SYS(setrlimit), SCMP_SYS(sigaltstack), SCMP_SYS(clone),
	SCMP_SYS(openat), SCMP_SYS(getdents64), SCMP_SYS(getdents), SCMP_SYS(rt_sigaction),
	SCMP_SYS(getppid),
};

/* vCPU threads: KVM_RUN and register access, the device models they run
 * (port/MMIO handlers: serial output, virtio notify -> block submission,
 * tap writes, eventfd/irqfd signalling), malloc, locks and exit. */
static const int vcpu_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(fallocate), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	SCMP_SYS(futex), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(tgkill), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(epoll_ctl), SCMP_SYS(io_uring_enter), SCMP_SYS(sched_yield), SCMP_SYS(rseq),
	SCMP_SYS(restart_syscall), SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(madvise), SCMP_SYS(set_robust_list),
};

/* ioctl request types ((cmd >> 8) & 0xff) each list allows. */
static const unsigned process_ioctl_types[] = { 0xAE /* KVM */, 0x54 /* tty, tun */, 0x12 /* BLK* */ };
static const unsigned vcpu_ioctl_types[] = { 0xAE, 0x54 };

static int add_calls(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++)
		if (calls[i] >= 0)     /* __NR_ numbers libseccomp knows; negative: not on x86-64 */
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
	return ret;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

int sandbox_lists_build(scmp_filter_ctx *out, enum sandbox_list list, int log_mode, int sanitizer)
{
	scmp_filter_ctx ctx = seccomp_init(log_mode ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	int vcpu = list == SANDBOX_LIST_VCPU;
	const unsigned *types = vcpu ? vcpu_ioctl_types : process_ioctl_types;
	size_t ntypes = vcpu ? N(vcpu_ioctl_types) : N(process_ioctl_types);
	int ret;

	if (!ctx)
		return -ENOMEM;
	ret = vcpu ? add_calls(ctx, vcpu_calls, N(vcpu_calls)) : add_calls(ctx, process_calls, N(process_calls));
	if (ret == 0 && sanitizer)
		ret = add_calls(ctx, sanitizer_calls, N(sanitizer_calls));
	for (size_t i = 0; i < ntypes && ret == 0; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, types[i] << 8));
	/* Thread names (pthread_setname_np, and the name the SIGSYS line uses);
	 * sanitizer builds allow every prctl already. */
	if (ret == 0 && !vcpu && !sanitizer)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (ret == 0 && !vcpu && !sanitizer)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	if (ret < 0) {
		seccomp_release(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

char *sandbox_lists_syscall_name(int nr)
{
	return seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}
