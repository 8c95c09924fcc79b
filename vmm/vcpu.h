/* vCPU threads: creation (CPUID, MSRs, boot registers), the KVM_RUN loop
 * dispatching port I/O and MMIO exits to the buses, the report of fatal
 * exits, and the kick (a signal whose handler only sets immediate_exit). */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stddef.h>

struct kvm;
struct bus;
struct guest_memory;
struct vm_control;
struct boot_cpu_state;
struct cpuid_entry;

#define VCPU_MAX 64

/* What a vCPU thread needs; shared by all vCPUs of a VM. */
struct vcpu_env {
	struct kvm *kvm;
	struct bus *pio, *mmio;
	const struct guest_memory *mem;
	/* Lifecycle requests (SYSTEM_EVENT reset/shutdown) and failures.
	 * fail(opaque, status) is called once by a vCPU thread that stops
	 * because of a guest crash (status 2) or an internal error (3). */
	const struct vm_control *ctl;
	void (*fail)(void *opaque, int status);
	void *fail_opaque;
};

struct vcpu {
	unsigned index;
	int fd;
	void *run;             /* struct kvm_run mapping */
	size_t run_size;
	pthread_t thread;
	int started;
	int stop;              /* atomic: set by vcpu_kick() */
	const struct vcpu_env *env;
};

/* Installs the kick signal handler (once per process). 0 or -errno. */
int vcpu_signal_init(void);

/* KVM_CREATE_VCPU, kvm_run mapping, CPUID and default MSRs/FPU/LAPIC.
 * Returns 0 or -errno with a message in msg. */
int vcpu_create(struct vcpu *v, const struct vcpu_env *env, unsigned index,
		const struct cpuid_entry *cpuid, unsigned ncpuid, char *msg, size_t msglen);

/* Registers of the boot CPU from the loader's state. 0 or -errno. */
int vcpu_set_boot_state(struct vcpu *v, const struct boot_cpu_state *s);

/* Starts the thread running KVM_RUN. 0 or -errno. */
int vcpu_start(struct vcpu *v);

/* Asks the thread to leave KVM_RUN and stop; safe from any thread. */
void vcpu_kick(struct vcpu *v);
/* Waits for the thread (after vcpu_kick()). */
void vcpu_join(struct vcpu *v);
/* Unmaps and closes; the thread must be joined. */
void vcpu_destroy(struct vcpu *v);

#endif
