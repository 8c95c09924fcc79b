/* Tests for vmm/kvm.c against the real /dev/kvm (skipped, exit 77, when it
 * cannot be opened): error messages for a missing or non-KVM device, VM
 * creation, memory slots, ioeventfd, irqfd and MSI routing helpers. */
#include "tests/check.h"
#include "vmm/cpuid.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void test_open_errors(void)
{
	struct kvm k;
	char msg[256];
	setenv("VMM_KVM_DEVICE", "/nonexistent/kvm", 1);
	CHECK_EQ(kvm_open(&k, msg, sizeof(msg)), -ENOENT);
	CHECK_STR(msg, "/nonexistent/kvm not found: is the kvm module loaded?");
	CHECK_EQ(k.sys_fd, -1);
	setenv("VMM_KVM_DEVICE", "/dev/null", 1);
	CHECK(kvm_open(&k, msg, sizeof(msg)) < 0);
	CHECK(strncmp(msg, "/dev/null: not a KVM device", 27) == 0);
	CHECK_EQ(k.sys_fd, -1);
	unsetenv("VMM_KVM_DEVICE");
	CHECK_STR(kvm_device_path(), "/dev/kvm");
}

static void test_vm(struct kvm *k)
{
	char msg[256];
	CHECK(kvm_max_vcpus(k) >= 1);
	CHECK_EQ(kvm_create_vm(k, msg, sizeof(msg)), 0);
	struct guest_memory mem;
	CHECK_EQ(guest_memory_init(&mem, 16 << 20), 0);
	CHECK_EQ(kvm_set_memory(k, &mem), 0);
	CHECK_EQ(k->nslots, 1);

	struct cpuid_entry *e = NULL;
	unsigned n = 0;
	CHECK_EQ(kvm_get_supported_cpuid(k, &e, &n), 0);
	CHECK(n > 4);
	CHECK(e && cpuid_find(e, n, 0, 0) != NULL);
	CHECK(e && cpuid_find(e, n, 1, 0) != NULL);
	free(e);

	/* ioeventfd: assign, duplicate refused, deassign, bad lengths */
	int efd = eventfd(0, EFD_CLOEXEC);
	CHECK(efd >= 0);
	CHECK_EQ(kvm_ioeventfd_assign(k, efd, 0x1000, 2, 1, 0, 0), 0);
	CHECK_EQ(kvm_ioeventfd_assign(k, efd, 0x1000, 2, 1, 0, 0), -EEXIST);
	CHECK_EQ(kvm_ioeventfd_deassign(k, efd, 0x1000, 2, 1, 0, 0), 0);
	CHECK_EQ(kvm_ioeventfd_deassign(k, efd, 0x1000, 2, 1, 0, 0), -ENOENT);
	CHECK_EQ(kvm_ioeventfd_assign(k, efd, 0xd0000000, 4, 0, 1, 7), 0);
	CHECK_EQ(kvm_ioeventfd_deassign(k, efd, 0xd0000000, 4, 0, 1, 7), 0);
	CHECK_EQ(kvm_ioeventfd_assign(k, efd, 0xd0000000, 0, 0, 0, 0), 0);
	CHECK_EQ(kvm_ioeventfd_deassign(k, efd, 0xd0000000, 0, 0, 0, 0), 0);
	CHECK_EQ(kvm_ioeventfd_assign(k, efd, 0x1000, 3, 1, 0, 0), -EINVAL);
	CHECK_EQ(kvm_ioeventfd_assign(k, efd, 0x1000, 0, 1, 0, 0), -EINVAL);

	/* interrupts */
	CHECK_EQ(kvm_irq_line(k, 4, 1), 0);
	CHECK_EQ(kvm_irq_line(k, 4, 0), 0);
	int ifd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(kvm_irqfd_assign(k, ifd, 5, -1), 0);
	CHECK_EQ(kvm_irqfd_assign(k, ifd, 5, -1), -EBUSY);
	CHECK_EQ(kvm_irqfd_deassign(k, ifd, 5), 0);
	CHECK_EQ(kvm_signal_msi(k, 0xfee00000, 0x4030), 0);

	/* MSI routes: GSIs from 24, reuse, update/remove of unknown GSIs */
	int g0 = kvm_msi_route_add(k, 0xfee00000, 0x30);
	int g1 = kvm_msi_route_add(k, 0xfee01000, 0x31);
	CHECK_EQ(g0, KVM_GSI_FIRST_MSI);
	CHECK_EQ(g1, KVM_GSI_FIRST_MSI + 1);
	CHECK_EQ(kvm_irqfd_assign(k, ifd, (uint32_t)g1, -1), 0);
	CHECK_EQ(kvm_msi_route_update(k, (uint32_t)g1, 0xfee00000, 0x41), 0);
	CHECK_EQ(k->msi[1].data, 0x41);
	CHECK_EQ(kvm_msi_route_remove(k, (uint32_t)g0), 0);
	CHECK_EQ(kvm_msi_route_remove(k, (uint32_t)g0), -ENOENT);
	CHECK_EQ(kvm_msi_route_update(k, (uint32_t)g0, 0xfee00000, 0), -ENOENT);
	CHECK_EQ(kvm_msi_route_update(k, 5, 0xfee00000, 0), -ENOENT);
	CHECK_EQ(kvm_msi_route_remove(k, 5), -ENOENT);
	CHECK_EQ(kvm_msi_route_update(k, KVM_GSI_FIRST_MSI + KVM_MSI_ROUTES_MAX, 0xfee00000, 0), -ENOENT);
	CHECK_EQ(kvm_msi_route_remove(k, KVM_GSI_FIRST_MSI + KVM_MSI_ROUTES_MAX), -ENOENT);
	CHECK_EQ(kvm_msi_route_add(k, 0xfee00000, 0x50), g0);   /* slot reused */
	/* the legacy routes survive: an IOAPIC line still works */
	CHECK_EQ(kvm_irq_line(k, 10, 1), 0);
	CHECK_EQ(kvm_irq_line(k, 10, 0), 0);
	int last = 0;
	for (int i = 0; i < KVM_MSI_ROUTES_MAX; i++) {
		last = kvm_msi_route_add(k, 0xfee00000, (uint32_t)i);
		if (last < 0)
			break;
	}
	CHECK_EQ(last, -ENOSPC);
	CHECK_EQ(kvm_irqfd_deassign(k, ifd, (uint32_t)g1), 0);
	close(ifd);
	close(efd);
	kvm_destroy_vm(k);
	CHECK_EQ(k->vm_fd, -1);
	guest_memory_destroy(&mem);
}

int main(void)
{
	test_open_errors();
	struct kvm k;
	char msg[256];
	if (kvm_open(&k, msg, sizeof(msg)) < 0) {
		printf("SKIP: %s\n", msg);
		check_done();
		return 77;
	}
	test_vm(&k);
	kvm_close(&k);
	return check_done();
}
