/* The VM's KVM handle: opening /dev/kvm with one clear error per failure,
 * the VM with its in-kernel irqchip and PIT, memory slots, interrupt
 * injection, and the ioeventfd/irqfd/MSI-routing helpers virtio uses
 * (Documentation/virt/kvm/api.rst sections 4.x for each ioctl named below).
 * One of the few files that include <linux/kvm.h>; the header does not. */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct guest_memory;
struct vmm_irq;
struct cpuid_entry;

#define KVM_MSI_ROUTES_MAX 256
#define KVM_GSI_FIRST_MSI  24   /* GSIs 0..23 keep the default PIC/IOAPIC routes */

struct kvm_msi_route {
	int used;
	uint64_t addr;
	uint32_t data;
};

struct kvm {
	int sys_fd;            /* /dev/kvm */
	int vm_fd;             /* -1 until kvm_create_vm() */
	int vcpu_mmap_size;    /* size of the kvm_run mapping */
	unsigned nslots;       /* memory slots set */
	pthread_mutex_t route_lock;
	struct kvm_msi_route msi[KVM_MSI_ROUTES_MAX];  /* index i is GSI 24 + i */
};

/* Device path: $VMM_KVM_DEVICE if set, else /dev/kvm. */
const char *kvm_device_path(void);

/* Opens the device and checks API version 12 and every capability we need.
 * Returns 0, or a negative errno with a one-line message (no "vmm: " prefix,
 * no newline) in msg. On failure kvm->sys_fd is -1. */
int kvm_open(struct kvm *kvm, char *msg, size_t msglen);

/* Most vCPUs a VM may have (KVM_CAP_MAX_VCPUS, else KVM_CAP_NR_VCPUS, else 4). */
unsigned kvm_max_vcpus(struct kvm *kvm);

/* KVM_CREATE_VM, TSS and identity-map addresses, KVM_CREATE_IRQCHIP and
 * KVM_CREATE_PIT2. Returns 0 or a negative errno with a message in msg. */
int kvm_create_vm(struct kvm *kvm, char *msg, size_t msglen);

/* One memory slot per guest_memory region. 0 or -errno. */
int kvm_set_memory(struct kvm *kvm, const struct guest_memory *mem);

/* A read-only slot (firmware ROM) after the kvm_set_memory() ones: guest
 * reads run natively, writes exit as MMIO. Where KVM lacks
 * KVM_CAP_READONLY_MEM the slot is writable (as QEMU's pc.rom there).
 * 0 or -errno. */
int kvm_add_rom(struct kvm *kvm, uint64_t gpa, uint64_t size, void *host);

/* Closes the VM (all vCPU fds must be closed first); sys_fd stays open. */
void kvm_destroy_vm(struct kvm *kvm);
/* Closes everything. */
void kvm_close(struct kvm *kvm);

/* Supported CPUID (KVM_GET_SUPPORTED_CPUID) as a malloc'ed array in *out
 * with *n entries. 0 or -errno. */
int kvm_get_supported_cpuid(struct kvm *kvm, struct cpuid_entry **out, unsigned *n);

/* Interrupts: KVM_IRQ_LINE and KVM_SIGNAL_MSI. 0 or -errno. */
int kvm_irq_line(struct kvm *kvm, uint32_t gsi, int level);
int kvm_signal_msi(struct kvm *kvm, uint64_t addr, uint32_t data);
/* Fills *irq with callbacks onto kvm (devices/irq.h). */
void kvm_irq_init(struct kvm *kvm, struct vmm_irq *irq);

/* KVM_IOEVENTFD: signal eventfd fd when the guest writes len bytes (1, 2,
 * 4 or 8; 0 = any length, MMIO only) at addr in port space (pio != 0) or
 * MMIO space. With datamatch, only writes of exactly `data` signal.
 * Deassign takes the same arguments. 0 or -errno. */
int kvm_ioeventfd_assign(struct kvm *kvm, int fd, uint64_t addr, unsigned len,
			 int pio, int datamatch, uint64_t data);
int kvm_ioeventfd_deassign(struct kvm *kvm, int fd, uint64_t addr, unsigned len,
			   int pio, int datamatch, uint64_t data);

/* KVM_IRQFD: writing eventfd fd injects gsi (an IOAPIC pin 0..23 or a GSI
 * from kvm_msi_route_add()). resample_fd >= 0 makes it level-triggered with
 * a resample eventfd (KVM_IRQFD_FLAG_RESAMPLE); pass -1 for edge/MSI.
 * 0 or -errno. */
int kvm_irqfd_assign(struct kvm *kvm, int fd, uint32_t gsi, int resample_fd);
int kvm_irqfd_deassign(struct kvm *kvm, int fd, uint32_t gsi);

/* MSI routes (KVM_SET_GSI_ROUTING): the table always holds the default
 * PIC/IOAPIC routes for GSI 0..23 plus every MSI route added here.
 * kvm_msi_route_add returns the new GSI (>= KVM_GSI_FIRST_MSI) or -errno
 * (-ENOSPC when full); update/remove return 0 or -errno (-ENOENT). */
int kvm_msi_route_add(struct kvm *kvm, uint64_t addr, uint32_t data);
int kvm_msi_route_update(struct kvm *kvm, uint32_t gsi, uint64_t addr, uint32_t data);
int kvm_msi_route_remove(struct kvm *kvm, uint32_t gsi);

#endif
