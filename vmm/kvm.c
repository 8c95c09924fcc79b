/* /dev/kvm and the VM fd: capability checks, VM creation with in-kernel
 * irqchip and PIT, memory slots, interrupts, ioeventfd, irqfd and MSI routes
 * (Documentation/virt/kvm/api.rst: 4.1 KVM_GET_API_VERSION, 4.24
 * KVM_CREATE_IRQCHIP, 4.35 KVM_SET_USER_MEMORY_REGION, 4.52 KVM_SET_GSI_ROUTING,
 * 4.59 KVM_IOEVENTFD, 4.75 KVM_IRQFD, KVM_SIGNAL_MSI, KVM_CREATE_PIT2). */
#include "vmm/kvm.h"
#include "vmm/cpuid.h"
#include "vmm/memory.h"
#include "boot/layout.h"
#include "devices/irq.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *kvm_device_path(void)
{
	const char *p = getenv("VMM_KVM_DEVICE");
	return p && *p ? p : "/dev/kvm";
}

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

int kvm_open(struct kvm *kvm, char *msg, size_t msglen)
{
	const char *path = kvm_device_path();
	memset(kvm, 0, sizeof(*kvm));
	kvm->sys_fd = kvm->vm_fd = -1;

	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			snprintf(msg, msglen, "%s not found: is the kvm module loaded?", path);
		else if (err == EACCES || err == EPERM)
			snprintf(msg, msglen, "%s: permission denied: add your user to the kvm group", path);
		else
			snprintf(msg, msglen, "%s: %s", path, strerror(err));
		return -err;
	}
	int ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		int err = ver < 0 ? errno : 0;
		if (ver < 0)
			snprintf(msg, msglen, "%s: not a KVM device (KVM_GET_API_VERSION: %s)", path, strerror(err));
		else
			snprintf(msg, msglen, "%s: unsupported KVM API version %d (need %d)", path, ver, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(msg, msglen, "%s: required capability %s is missing", path, required_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	int sz = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		snprintf(msg, msglen, "%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
		close(fd);
		return -ENOTSUP;
	}
	kvm->vcpu_mmap_size = sz;
	kvm->sys_fd = fd;
	pthread_mutex_init(&kvm->route_lock, NULL);
	return 0;
}

unsigned kvm_max_vcpus(struct kvm *kvm)
{
	int n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return n > 0 ? (unsigned)n : 4;   /* api.rst: assume 4 when neither is there */
}

int kvm_create_vm(struct kvm *kvm, char *msg, size_t msglen)
{
	int vm = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		int err = errno;
		snprintf(msg, msglen, "KVM_CREATE_VM: %s", strerror(err));
		return -err;
	}
	const char *what = NULL;
	uint64_t idmap = LAYOUT_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS_ADDR) < 0)
		what = "KVM_SET_TSS_ADDR";
	else if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		what = "KVM_SET_IDENTITY_MAP_ADDR";
	else if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		what = "KVM_CREATE_IRQCHIP";
	else if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		what = "KVM_CREATE_PIT2";
	if (what) {
		int err = errno;
		snprintf(msg, msglen, "%s: %s", what, strerror(err));
		close(vm);
		return -err;
	}
	kvm->vm_fd = vm;
	kvm->nslots = 0;
	memset(kvm->msi, 0, sizeof(kvm->msi));
	return 0;
}

int kvm_set_memory(struct kvm *kvm, const struct guest_memory *mem)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct kvm_userspace_memory_region reg = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
			return -errno;
	}
	kvm->nslots = mem->nregions;
	return 0;
}

int kvm_add_rom(struct kvm *kvm, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region reg = {
		.slot = kvm->nslots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};
	if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0)
		reg.flags = KVM_MEM_READONLY;
	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		return -errno;
	kvm->nslots++;
	return 0;
}

void kvm_destroy_vm(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	kvm->vm_fd = -1;
}

void kvm_close(struct kvm *kvm)
{
	kvm_destroy_vm(kvm);
	if (kvm->sys_fd >= 0) {
		close(kvm->sys_fd);
		pthread_mutex_destroy(&kvm->route_lock);
	}
	kvm->sys_fd = -1;
}

int kvm_get_supported_cpuid(struct kvm *kvm, struct cpuid_entry **out, unsigned *n)
{
	for (unsigned cap = 128; cap <= 4096; cap *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = cap;
		if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
			int err = errno;
			free(c);
			if (err == E2BIG)
				continue;
			return -err;
		}
		struct cpuid_entry *e = calloc(c->nent ? c->nent : 1, sizeof(*e));
		if (!e) {
			free(c);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < c->nent; i++) {
			e[i].function = c->entries[i].function;
			e[i].index = c->entries[i].index;
			e[i].flags = c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX ?
				     CPUID_FLAG_SIGNIFICANT_INDEX : 0;
			e[i].eax = c->entries[i].eax;
			e[i].ebx = c->entries[i].ebx;
			e[i].ecx = c->entries[i].ecx;
			e[i].edx = c->entries[i].edx;
		}
		*n = c->nent;
		*out = e;
		free(c);
		return 0;
	}
	return -E2BIG;
}

int kvm_irq_line(struct kvm *kvm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };
	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int kvm_signal_msi(struct kvm *kvm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	/* 0 means the guest masked it, and -1 with errno EPERM (1) that no
	 * vCPU matched the destination (kvm_irq_delivery_to_apic returns -1):
	 * guest programming, not our error. */
	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 && errno != EPERM)
		return -errno;
	return 0;
}

static int irq_cb_set_line(void *opaque, uint32_t gsi, int level)
{
	return kvm_irq_line(opaque, gsi, level);
}

static int irq_cb_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return kvm_signal_msi(opaque, addr, data);
}

void kvm_irq_init(struct kvm *kvm, struct vmm_irq *irq)
{
	irq->set_line = irq_cb_set_line;
	irq->send_msi = irq_cb_send_msi;
	irq->opaque = kvm;
}

static int ioeventfd(struct kvm *kvm, int fd, uint64_t addr, unsigned len,
		     int pio, int datamatch, uint64_t data, int deassign)
{
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (pio && len == 0)
		return -EINVAL;
	struct kvm_ioeventfd io = {
		.datamatch = datamatch ? data : 0,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int kvm_ioeventfd_assign(struct kvm *kvm, int fd, uint64_t addr, unsigned len,
			 int pio, int datamatch, uint64_t data)
{
	return ioeventfd(kvm, fd, addr, len, pio, datamatch, data, 0);
}

int kvm_ioeventfd_deassign(struct kvm *kvm, int fd, uint64_t addr, unsigned len,
			   int pio, int datamatch, uint64_t data)
{
	return ioeventfd(kvm, fd, addr, len, pio, datamatch, data, 1);
}

int kvm_irqfd_assign(struct kvm *kvm, int fd, uint32_t gsi, int resample_fd)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi };
	if (resample_fd >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resample_fd;
	}
	return ioctl(kvm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

int kvm_irqfd_deassign(struct kvm *kvm, int fd, uint32_t gsi)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	return ioctl(kvm->vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

/* Rebuilds the whole table: KVM_SET_GSI_ROUTING replaces it, so the default
 * routes (arch/x86/kvm/irq_comm.c: GSI 0..15 on the PICs and IOAPIC pins,
 * 16..23 on the IOAPIC) must be part of every call. Caller holds route_lock. */
static int routes_commit(struct kvm *kvm)
{
	unsigned max = 16 * 2 + 8 + KVM_MSI_ROUTES_MAX;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	unsigned n = 0;
	for (uint32_t gsi = 0; gsi < LAYOUT_IOAPIC_PINS; gsi++) {
		if (gsi < 16) {
			r->entries[n].gsi = gsi;
			r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			r->entries[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			r->entries[n].u.irqchip.pin = gsi % 8;
			n++;
		}
		r->entries[n].gsi = gsi;
		r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->entries[n].u.irqchip.pin = gsi;
		n++;
	}
	for (unsigned i = 0; i < KVM_MSI_ROUTES_MAX; i++) {
		if (!kvm->msi[i].used)
			continue;
		r->entries[n].gsi = KVM_GSI_FIRST_MSI + i;
		r->entries[n].type = KVM_IRQ_ROUTING_MSI;
		r->entries[n].u.msi.address_lo = (uint32_t)kvm->msi[i].addr;
		r->entries[n].u.msi.address_hi = (uint32_t)(kvm->msi[i].addr >> 32);
		r->entries[n].u.msi.data = kvm->msi[i].data;
		n++;
	}
	r->nr = n;
	int ret = ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
	free(r);
	return ret;
}

int kvm_msi_route_add(struct kvm *kvm, uint64_t addr, uint32_t data)
{
	pthread_mutex_lock(&kvm->route_lock);
	int ret = -ENOSPC;
	for (unsigned i = 0; i < KVM_MSI_ROUTES_MAX; i++) {
		if (kvm->msi[i].used)
			continue;
		kvm->msi[i] = (struct kvm_msi_route){ 1, addr, data };
		ret = routes_commit(kvm);
		if (ret < 0)
			kvm->msi[i].used = 0;
		else
			ret = (int)(KVM_GSI_FIRST_MSI + i);
		break;
	}
	pthread_mutex_unlock(&kvm->route_lock);
	return ret;
}

/* The MSI route slot behind gsi, or NULL when gsi is not an MSI GSI. */
static struct kvm_msi_route *msi_route_of(struct kvm *kvm, uint32_t gsi)
{
	if (gsi < KVM_GSI_FIRST_MSI || gsi >= KVM_GSI_FIRST_MSI + KVM_MSI_ROUTES_MAX)
		return NULL;
	return &kvm->msi[gsi - KVM_GSI_FIRST_MSI];
}

int kvm_msi_route_update(struct kvm *kvm, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_msi_route *m = msi_route_of(kvm, gsi);
	if (!m)
		return -ENOENT;
	pthread_mutex_lock(&kvm->route_lock);
	int ret = -ENOENT;
	if (m->used) {
		struct kvm_msi_route old = *m;
		m->addr = addr;
		m->data = data;
		ret = routes_commit(kvm);
		if (ret < 0)
			*m = old;
	}
	pthread_mutex_unlock(&kvm->route_lock);
	return ret;
}

int kvm_msi_route_remove(struct kvm *kvm, uint32_t gsi)
{
	struct kvm_msi_route *m = msi_route_of(kvm, gsi);
	if (!m)
		return -ENOENT;
	pthread_mutex_lock(&kvm->route_lock);
	int ret = -ENOENT;
	if (m->used) {
		m->used = 0;
		ret = routes_commit(kvm);
		if (ret < 0)
			m->used = 1;
	}
	pthread_mutex_unlock(&kvm->route_lock);
	return ret;
}
