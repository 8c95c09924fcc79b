/* vCPU threads and the exit switch, after kvmtool's kvm-cpu.c. Follows KVM
 * api.rst 4.10 KVM_RUN (exit reasons, immediate_exit), 4.13/4.14 sregs,
 * 4.18 KVM_SET_MSRS, 4.20 KVM_SET_CPUID2, 4.15 KVM_TRANSLATE; register
 * states per Intel SDM vol. 3A 9.1 (reset) and the multiboot/boot.rst
 * entry conditions the loader asked for (boot/boot.h). */
#include "vmm/vcpu.h"
#include "vmm/bus.h"
#include "vmm/cpuid.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"
#include "boot/boot.h"
#include "devices/vm_control.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmm/sandbox.h"

#define VCPU_KICK_SIGNAL SIGUSR1

/* The only thing the kick handler touches (api.rst: immediate_exit). */
static __thread struct kvm_run *tls_run;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void kick_handler(int sig)
{
	struct kvm_run *run = tls_run;
	if (run)
		run->immediate_exit = 1;
}

int vcpu_signal_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;   /* no SA_RESTART: KVM_RUN must return EINTR */
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

static void set_msrs(struct vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} msrs[] = {
		{ 0x174, 0 },                  /* SYSENTER_CS */
		{ 0x175, 0 },                  /* SYSENTER_ESP */
		{ 0x176, 0 },                  /* SYSENTER_EIP */
		{ 0xc0000081, 0 },             /* STAR */
		{ 0xc0000082, 0 },             /* LSTAR */
		{ 0xc0000083, 0 },             /* CSTAR */
		{ 0xc0000084, 0 },             /* SFMASK */
		{ 0xc0000102, 0 },             /* KERNEL_GS_BASE */
		{ 0x1a0, 1 },                  /* MISC_ENABLE: fast strings */
		{ 0x2ff, (1 << 11) | 6 },      /* MTRR_DEF_TYPE: enabled, write-back */
	};
	enum { NMSRS = sizeof(msrs) / sizeof(msrs[0]) };
	uint64_t buf[(sizeof(struct kvm_msrs) + NMSRS * sizeof(struct kvm_msr_entry)) / 8 + 1];
	struct kvm_msrs *m = (struct kvm_msrs *)buf;

	/* One KVM_SET_MSRS for all (api.rst 4.18: it returns how many entries
	 * it set, stopping at the first the host refuses); a refused MSR is
	 * skipped and the rest go again, so it costs no other MSR. */
	for (unsigned first = 0; first < NMSRS;) {
		memset(buf, 0, sizeof(buf));
		m->nmsrs = NMSRS - first;
		for (unsigned i = first; i < NMSRS; i++) {
			m->entries[i - first].index = msrs[i].index;
			m->entries[i - first].data = msrs[i].data;
		}
		int done = ioctl(v->fd, KVM_SET_MSRS, m);
		if (done < 0)
			break;         /* the whole call refused (bad fd, EFAULT): nothing to retry */
		first += (unsigned)done + 1;   /* done set; entry first+done refused (or the end) */
	}
}

static void set_lapic_lint(struct vcpu *v)
{
	/* LINT0 as ExtINT and LINT1 as NMI, what a PC BIOS programs, so the
	 * PIC's output reaches the CPU in virtual-wire mode. */
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return;
	uint32_t lvt0, lvt1;
	memcpy(&lvt0, &l.regs[0x350], 4);
	memcpy(&lvt1, &l.regs[0x360], 4);
	lvt0 = (lvt0 & ~0x700u & ~0x10000u) | (7u << 8);   /* ExtINT, unmasked */
	lvt1 = (lvt1 & ~0x700u & ~0x10000u) | (4u << 8);   /* NMI, unmasked */
	memcpy(&l.regs[0x350], &lvt0, 4);
	memcpy(&l.regs[0x360], &lvt1, 4);
	(void)ioctl(v->fd, KVM_SET_LAPIC, &l);
}

int vcpu_create(struct vcpu *v, const struct vcpu_env *env, unsigned index,
		const struct cpuid_entry *cpuid, unsigned ncpuid, char *msg, size_t msglen)
{
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	v->index = index;
	v->env = env;
	int fd = ioctl(env->kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (fd < 0) {
		int err = errno;
		snprintf(msg, msglen, "KVM_CREATE_VCPU %u: %s", index, strerror(err));
		return -err;
	}
	size_t sz = (size_t)env->kvm->vcpu_mmap_size;
	void *run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		int err = errno;
		snprintf(msg, msglen, "vCPU %u: mmap kvm_run: %s", index, strerror(err));
		close(fd);
		return -err;
	}
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (ncpuid ? ncpuid : 1) * sizeof(c->entries[0]));
	if (!c) {
		munmap(run, sz);
		close(fd);
		snprintf(msg, msglen, "vCPU %u: out of memory", index);
		return -ENOMEM;
	}
	c->nent = ncpuid;
	for (unsigned i = 0; i < ncpuid; i++) {
		c->entries[i].function = cpuid[i].function;
		c->entries[i].index = cpuid[i].index;
		c->entries[i].flags = cpuid[i].flags & CPUID_FLAG_SIGNIFICANT_INDEX ?
				      KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		c->entries[i].eax = cpuid[i].eax;
		c->entries[i].ebx = cpuid[i].ebx;
		c->entries[i].ecx = cpuid[i].ecx;
		c->entries[i].edx = cpuid[i].edx;
	}
	int ret = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	if (ret < 0) {
		snprintf(msg, msglen, "vCPU %u: KVM_SET_CPUID2: %s", index, strerror(-ret));
		munmap(run, sz);
		close(fd);
		return ret;
	}
	v->fd = fd;
	v->run = run;
	v->run_size = sz;

	set_msrs(v);
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	(void)ioctl(fd, KVM_SET_FPU, &fpu);
	set_lapic_lint(v);
	return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, int code, int l, int db)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 11 : 3;   /* execute/read accessed, read/write accessed */
	s->present = 1;
	s->dpl = 0;
	s->db = db;
	s->s = 1;
	s->l = l;
	s->g = 1;
}

int vcpu_set_boot_state(struct vcpu *v, const struct boot_cpu_state *b)
{
	if (b->mode == BOOT_CPU_RESET)
		return 0;       /* KVM's vCPU starts in the architectural reset state */

	struct kvm_sregs sr;
	if (ioctl(v->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	int long64 = b->mode == BOOT_CPU_LONG64;
	uint16_t cs = b->cs_sel ? b->cs_sel : (long64 ? 0x10 : 0x08);
	uint16_t ds = b->ds_sel ? b->ds_sel : (long64 ? 0x18 : 0x10);
	seg_flat(&sr.cs, cs, 1, long64, !long64);
	seg_flat(&sr.ds, ds, 0, 0, 1);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.limit = 0x67;
	sr.tr.type = 11;           /* busy 64/32-bit TSS: VM entry insists on one */
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.type = 2;
	sr.ldt.unusable = 1;
	sr.gdt.base = b->gdt_base;
	sr.gdt.limit = b->gdt_base ? b->gdt_limit : 0xffff;
	sr.idt.base = b->idt_base;
	sr.idt.limit = b->idt_limit;
	sr.cr0 = 0x11;             /* PE | ET */
	sr.cr4 = 0;
	sr.efer = 0;
	if (long64) {
		sr.cr0 |= 0x80000000u | 0x20; /* PG, NE */
		sr.cr3 = b->cr3;
		sr.cr4 = 0x20;          /* PAE */
		sr.efer = 0x500;        /* LME | LMA */
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;

	struct kvm_regs r;
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = b->rip;
	r.rsp = b->rsp;
	r.rax = b->rax;
	r.rbx = b->rbx;
	r.rsi = b->rsi;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault)";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	default: return "unexpected exit";
	}
}

static const char *internal_suberror_name(uint32_t s)
{
	switch (s) {
	case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "simultaneous exceptions";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
	default: return "other";
	}
}

/* Copies up to len instruction bytes at linear address lin; returns count. */
static size_t read_guest_linear(struct vcpu *v, uint64_t lin, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct kvm_translation t = { .linear_address = lin + got };
		if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
			break;
		size_t chunk = 4096 - ((lin + got) & 4095);
		if (chunk > len - got)
			chunk = len - got;
		const void *p = guest_memory_ptr(v->env->mem, t.physical_address, chunk);
		if (!p)
			break;
		memcpy(buf + got, p, chunk);
		got += chunk;
	}
	return got;
}

/* One block on stderr describing why the vCPU stopped. */
static void report_exit(struct vcpu *v, const char *what)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	struct kvm_sregs sr;
	int have_regs = ioctl(v->fd, KVM_GET_REGS, &regs) == 0;
	int have_sregs = ioctl(v->fd, KVM_GET_SREGS, &sr) == 0;

	pthread_mutex_lock(&report_lock);
	fprintf(stderr, "vmm: vCPU %u stopped: %s\n", v->index, what);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		fprintf(stderr, "  suberror: %u (%s)", run->internal.suberror,
			internal_suberror_name(run->internal.suberror));
		for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++)
			fprintf(stderr, "%s0x%llx", i ? " " : ", data: ", (unsigned long long)run->internal.data[i]);
		fprintf(stderr, "\n");
	} else if (run->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		fprintf(stderr, "  hardware entry failure reason: 0x%llx\n",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	} else if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT) {
		fprintf(stderr, "  event type: %u\n", run->system_event.type);
	} else if (run->exit_reason == KVM_EXIT_SHUTDOWN) {
		/* svm.c shutdown_interception() reinitialises the VMCB. */
		fprintf(stderr, "  (on AMD hosts KVM resets the vCPU on a shutdown: the registers below may be its reset state)\n");
	}
	if (have_regs && have_sregs) {
		const char *mode = !(sr.cr0 & 1) ? "real mode" :
				   (sr.efer & 0x400) && sr.cs.l ? "64-bit" :
				   sr.cs.db ? "32-bit protected" : "16-bit protected";
		fprintf(stderr, "  RIP: 0x%016llx  CS: 0x%04x base 0x%llx (%s)  RSP: 0x%llx  RFLAGS: 0x%llx\n",
			(unsigned long long)regs.rip, sr.cs.selector, (unsigned long long)sr.cs.base,
			mode, (unsigned long long)regs.rsp, (unsigned long long)regs.rflags);
		fprintf(stderr, "  CR0: 0x%llx  CR3: 0x%llx  CR4: 0x%llx  EFER: 0x%llx\n",
			(unsigned long long)sr.cr0, (unsigned long long)sr.cr3,
			(unsigned long long)sr.cr4, (unsigned long long)sr.efer);
		uint64_t lin = (sr.efer & 0x400) && sr.cs.l ? regs.rip : sr.cs.base + regs.rip;
		uint8_t bytes[16];
		size_t n = read_guest_linear(v, lin, bytes, sizeof(bytes));
		fprintf(stderr, "  code at RIP:");
		if (n == 0)
			fprintf(stderr, " unavailable");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", bytes[i]);
		fprintf(stderr, "\n");
	} else {
		fprintf(stderr, "  registers unavailable\n");
	}
	pthread_mutex_unlock(&report_lock);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	/* data_offset and count come from the kernel, but stay in the page. */
	if (run->io.data_offset >= v->run_size ||
	    (uint64_t)size * run->io.count > v->run_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(v->env->pio, run->io.port, data, size);
		else
			bus_read(v->env->pio, run->io.port, data, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len;
	if (len > 8)
		return;
	if (len == 1 || len == 2 || len == 4 || len == 8) {
		if (run->mmio.is_write)
			bus_write(v->env->mmio, run->mmio.phys_addr, run->mmio.data, len);
		else
			bus_read(v->env->mmio, run->mmio.phys_addr, run->mmio.data, len);
		return;
	}
	for (unsigned i = 0; i < len; i++) {
		if (run->mmio.is_write)
			bus_write(v->env->mmio, run->mmio.phys_addr + i, &run->mmio.data[i], 1);
		else
			bus_read(v->env->mmio, run->mmio.phys_addr + i, &run->mmio.data[i], 1);
	}
}

static void fail(struct vcpu *v, int status)
{
	if (v->env->fail)
		v->env->fail(v->env->fail_opaque, status);
}

/* Returns 0 to keep running, 1 when this vCPU must stop. */
static int handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[96];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return 0;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return 0;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		/* Orderly requests go through the lifecycle; others are crashes. */
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN && v->env->ctl) {
			v->env->ctl->poweroff(v->env->ctl->opaque);
			return 1;
		}
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET && v->env->ctl) {
			v->env->ctl->reset(v->env->ctl->opaque);
			return 1;
		}
		report_exit(v, "SYSTEM_EVENT");
		fail(v, 2);
		return 1;
	case KVM_EXIT_HLT:
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_EXCEPTION:
		report_exit(v, exit_name(run->exit_reason));
		fail(v, 2);
		return 1;
	default:
		snprintf(what, sizeof(what), "%s (exit reason %u)", exit_name(run->exit_reason),
			 run->exit_reason);
		report_exit(v, what);
		fail(v, 3);
		return 1;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_run *run = v->run;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	tls_run = run;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (sandbox_enter_vcpu_thread() < 0) {
		fail(v, 3);
		return NULL;
	}
	sandbox_test_hook("vcpu");

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		if (sandbox_enter_vcpu_thread() < 0) {   /* a sandbox that came after us */
			fail(v, 3);
			break;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int err = errno;
			if (err == EINTR || err == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			pthread_mutex_lock(&report_lock);
			fprintf(stderr, "vmm: vCPU %u: KVM_RUN: %s\n", v->index, strerror(err));
			pthread_mutex_unlock(&report_lock);
			fail(v, 3);
			break;
		}
		if (handle_exit(v))
			break;
	}
	tls_run = NULL;
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	/* The kick signal stays blocked outside vCPU threads, so a stray kick
	 * cannot land on a thread whose tls_run points nowhere useful. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (ret == 0)
		v->started = 1;
	return -ret;
}

void vcpu_kick(struct vcpu *v)
{
	__atomic_store_n(&v->stop, 1, __ATOMIC_RELEASE);
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
