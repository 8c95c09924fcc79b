/* vmm/sandbox_gen's BPF programs (sandbox_bpf.h, what vmm loads) against
 * libseccomp: each equals seccomp_export_bpf(3) of the same list built now
 * (vmm/sandbox_lists.c), and, run by a small classic-BPF interpreter on
 * struct seccomp_data (Linux seccomp(2), "Filter return values"), allows
 * and refuses what the lists say. */
#include "check.h"
#include "sandbox_bpf.h"
#include "vmm/sandbox_lists.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KVM_RUN_CMD 0xAE80u           /* _IO(KVMIO, 0x80) */
#define BLKGETSIZE64_CMD 0x80081272u  /* _IOR(0x12, 114, size_t) */
#define SIOCGIFCONF_CMD 0x8912u       /* socket ioctl, type 0x89 */

/* Runs prog on data; returns its SECCOMP_RET_* value, or 0xdead on an
 * instruction this interpreter does not know (a test failure). */
static uint32_t bpf_run(const struct sock_filter *prog, unsigned len, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	const unsigned char *bytes = (const unsigned char *)d;

	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;

		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k > sizeof(*d) - 4 || f->k % 4)
				return 0xdead;
			memcpy(&a, bytes + f->k, 4);
			break;
		case BPF_LD | BPF_MEM: a = mem[f->k % BPF_MEMWORDS]; break;
		case BPF_LDX | BPF_MEM: x = mem[f->k % BPF_MEMWORDS]; break;
		case BPF_ST: mem[f->k % BPF_MEMWORDS] = a; break;
		case BPF_STX: mem[f->k % BPF_MEMWORDS] = x; break;
		case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X: a &= src; break;
		case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X: a |= src; break;
		case BPF_MISC | BPF_TAX: x = a; break;
		case BPF_MISC | BPF_TXA: a = x; break;
		case BPF_JMP | BPF_JA: pc += f->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
			pc += a == src ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
			pc += a > src ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
			pc += a >= src ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
			pc += (a & src) ? f->jt : f->jf; break;
		case BPF_RET | BPF_K: return f->k;
		case BPF_RET | BPF_A: return a;
		default: return 0xdead;
		}
	}
	return 0xdead;   /* fell off the end: the kernel refuses such a program */
}

static uint32_t run(int sanitizer, int log, int list, int nr, uint64_t arg0, uint64_t arg1)
{
	struct seccomp_data d = { .nr = nr, .arch = AUDIT_ARCH_X86_64, .args = { arg0, arg1 } };

	return bpf_run(sandbox_bpf[sanitizer][log][list].insns, sandbox_bpf[sanitizer][log][list].len, &d)
	       & SECCOMP_RET_ACTION_FULL;
}

static void check_equal_to_libseccomp(void)
{
	for (int s = 0; s < 2; s++)
		for (int m = 0; m < 2; m++)
			for (int l = 0; l < 2; l++) {
				scmp_filter_ctx ctx;
				int fd = memfd_create("bpf", 0);
				off_t len;
				void *buf;

				CHECK_EQ(sandbox_lists_build(&ctx, (enum sandbox_list)l, m, s), 0);
				CHECK(fd >= 0);
				CHECK_EQ(seccomp_export_bpf(ctx, fd), 0);
				seccomp_release(ctx);
				len = lseek(fd, 0, SEEK_END);
				CHECK_EQ(len, (off_t)(sandbox_bpf[s][m][l].len * sizeof(struct sock_filter)));
				buf = malloc((size_t)len);
				CHECK(buf && pread(fd, buf, (size_t)len, 0) == len);
				if (buf && len == (off_t)(sandbox_bpf[s][m][l].len * sizeof(struct sock_filter)))
					CHECK_MEM(buf, sandbox_bpf[s][m][l].insns, (size_t)len);
				free(buf);
				close(fd);
			}
}

static void check_decisions(void)
{
	const int P = SANDBOX_LIST_PROCESS, V = SANDBOX_LIST_VCPU;
	struct seccomp_data d = { .nr = SYS_read, .arch = AUDIT_ARCH_I386 };

	/* process list (kill mode): files, KVM/tty/block ioctls, thread names */
	CHECK_EQ(run(0, 0, P, SYS_openat, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, P, SYS_io_uring_enter, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, P, SYS_ioctl, 3, KVM_RUN_CMD), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, P, SYS_ioctl, 3, BLKGETSIZE64_CMD), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, P, SYS_ioctl, 3, SIOCGIFCONF_CMD), SECCOMP_RET_TRAP);
	CHECK_EQ(run(0, 0, P, SYS_prctl, PR_SET_NAME, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, P, SYS_prctl, PR_SET_NO_NEW_PRIVS, 0), SECCOMP_RET_TRAP);
	CHECK_EQ(run(0, 0, P, SYS_execve, 0, 0), SECCOMP_RET_TRAP);
	CHECK_EQ(run(0, 0, P, SYS_personality, 0xffffffff, 0), SECCOMP_RET_TRAP);   /* the test hook's call */
	CHECK_EQ(run(0, 0, P, SYS_ptrace, 0, 0), SECCOMP_RET_TRAP);
	CHECK_EQ(run(0, 0, P, SYS_socket, 0, 0), SECCOMP_RET_TRAP);
	/* vCPU list: no files, no block ioctls */
	CHECK_EQ(run(0, 0, V, SYS_write, 1, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, V, SYS_ioctl, 11, KVM_RUN_CMD), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(0, 0, V, SYS_ioctl, 11, BLKGETSIZE64_CMD), SECCOMP_RET_TRAP);
	CHECK_EQ(run(0, 0, V, SYS_openat, 0, 0), SECCOMP_RET_TRAP);
	CHECK_EQ(run(0, 0, V, SYS_clone3, 0, 0), SECCOMP_RET_TRAP);
	/* action=log: the same lists, logging instead of trapping */
	CHECK_EQ(run(0, 1, P, SYS_execve, 0, 0), SECCOMP_RET_LOG);
	CHECK_EQ(run(0, 1, V, SYS_openat, 0, 0), SECCOMP_RET_LOG);
	CHECK_EQ(run(0, 1, P, SYS_openat, 0, 0), SECCOMP_RET_ALLOW);
	/* sanitizer builds: LSan's tracer may ptrace, prctl and getdents */
	CHECK_EQ(run(1, 0, P, SYS_ptrace, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(1, 0, V, SYS_getdents, 0, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(1, 0, P, SYS_prctl, PR_SET_NO_NEW_PRIVS, 0), SECCOMP_RET_ALLOW);
	CHECK_EQ(run(1, 0, P, SYS_execve, 0, 0), SECCOMP_RET_TRAP);
	/* another architecture's syscall is never allowed */
	CHECK(bpf_run(sandbox_bpf[0][0][P].insns, sandbox_bpf[0][0][P].len, &d) != SECCOMP_RET_ALLOW);
}

int main(void)
{
	check_equal_to_libseccomp();
	check_decisions();
	CHECK_STR(sandbox_sysnames[SYS_execve], "execve");
	CHECK_STR(sandbox_sysnames[SYS_openat], "openat");
	CHECK(sandbox_bpf[0][0][0].len > 10 && sandbox_bpf[0][0][1].len > 10);
	return check_done();
}
