/* Board bring-up and VM lifecycle. machine_bring_up() reads top to bottom as
 * the PC's assembly (like qboot's main()); machine_run() owns the main thread:
 * it runs the event loop until a lifecycle request arrives (an eventfd posted
 * by devices and vCPU threads, DESIGN.md "Threads and events"), stops the
 * vCPUs and either exits or, for a reset, tears the board down and builds it
 * again from scratch (same chardev, fresh RAM and VM). */
#include "vmm/machine.h"
#include "vmm/backends.h"
#include "vmm/chardev.h"
#include "vmm/cli.h"
#include "vmm/cpuid.h"
#include "vmm/event_loop.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"
#include "vmm/bus.h"
#include "vmm/vcpu.h"
#include "vmm/qmp.h"
#include "vmm/media.h"
#include "vmm/daemon.h"
#include "vmm/log.h"
#include "boot/boot.h"
#include "boot/firmware.h"
#include "boot/isoboot.h"
#include "boot/layout.h"
#include "devices/irq.h"
#include "devices/vm_control.h"
#include "devices/serial.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/acpi_pm.h"
#include "devices/fw_cfg.h"
#include "devices/pci.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/scsi.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "block/block.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "vmm/sandbox.h"
#include "vmm/privileges.h"

/* A lifecycle request: kind in the high bits, exit status in the low 16.
 * The first request wins; later ones (a vCPU crashing while the VM is
 * already exiting) are ignored. */
enum { REQ_NONE, REQ_POWEROFF, REQ_RESET, REQ_EXIT, REQ_FAIL, REQ_QUIT };
#define REQ(kind, status) (((kind) << 16) | ((status) & 0xffff))
#define REQ_KIND(r) ((r) >> 16)
#define REQ_STATUS(r) ((r) & 0xffff)

struct machine {
	const struct vmm_config *cfg;
	struct kvm kvm;
	struct event_loop *loop;
	struct chardev *chardev;
	struct chardev *debugcon_chr;  /* -debugcon file:PATH */
	int req_fd;
	int sig_fd;                   /* SIGINT/SIGTERM/SIGHUP: orderly exit */
	int request;                  /* atomic REQ(...) */
	struct cpuid_entry *supported;
	unsigned nsupported;
	int have_kvm;                 /* /dev/kvm opened and checked (first bring-up) */

	/* Back-ends: opened before the first bring-up, kept across resets. */
	struct backends be;

	/* The board: everything below is rebuilt on reset. */
	struct guest_memory mem;
	int have_vm, have_buses;
	struct bus pio, mmio;
	struct vmm_irq irq;
	struct vm_control ctl;
	struct serial *serial;
	struct i8042 *i8042;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct fw_cfg *fw_cfg;        /* firmware boot only */
	struct debug_exit *debug_exit;
	struct debugcon *debugcon;
	struct pci_host pci;
	int have_pci;
	struct virtio_rng *rng[CLI_MAX_VIRTIO_RNG];
	struct virtio_pci *rng_pci[CLI_MAX_VIRTIO_RNG];
	struct virtio_blk *blk[CLI_MAX_BLK];
	struct virtio_pci *blk_pci[CLI_MAX_BLK];
	struct virtio_net *net[CLI_MAX_NICS];
	struct virtio_pci *net_pci[CLI_MAX_NICS];
	struct virtio_scsi *scsi[CLI_MAX_DRIVES];     /* one virtio-scsi HBA per CD drive */
	struct virtio_pci *scsi_pci[CLI_MAX_DRIVES];
	struct vcpu_env env;
	struct vcpu vcpus[VCPU_MAX];
	unsigned nvcpus;

	/* QMP and the run state (hooks below). */
	struct qmp_server *qmp;
	struct qmp_vm_ops qmp_ops;
	enum qmp_run_state state;
	const char *quit_reason;      /* SHUTDOWN event "reason" for REQ_QUIT */
	int reset_by_host;            /* REQ_RESET came from QMP system_reset */
	int hold_vcpus;               /* bring-up leaves the vCPUs stopped (-S, reset while paused) */
	int term_fd;                  /* timerfd: SIGTERM's power-down deadline */
	int tray_fd;                  /* eventfd: the guest moved a CD tray */
	int tray_open[CLI_MAX_DRIVES];    /* as DEVICE_TRAY_MOVED last told */
	int term_pending;
	char blkname[CLI_MAX_DRIVES][32];
};

static void machine_post(struct machine *m, int kind, int status)
{
	int expected = REQ_NONE;
	if (__atomic_compare_exchange_n(&m->request, &expected, REQ(kind, status), 0,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		if (write(m->req_fd, &one, sizeof(one)) < 0) {
			/* counter saturated: the main thread is already woken */
		}
	}
}

static void block_engine_failed(void *opaque) { machine_post(opaque, REQ_FAIL, VMM_EXIT_INTERNAL); }
static void ctl_reset(void *opaque) { machine_post(opaque, REQ_RESET, 0); }
static void ctl_poweroff(void *opaque) { machine_post(opaque, REQ_POWEROFF, 0); }
static void ctl_exit(void *opaque, int status) { machine_post(opaque, REQ_EXIT, status); }
static void vcpu_failed(void *opaque, int status) { machine_post(opaque, REQ_FAIL, status); }
static void user_quit(void *opaque)
{
	struct machine *m = opaque;
	m->quit_reason = "host-ui";
	machine_post(m, REQ_QUIT, 0);
}
static void machine_on_signal(struct machine *m, unsigned signo);

static void on_request(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	uint64_t v;
	if (read(m->req_fd, &v, sizeof(v)) < 0) {
		/* already drained */
	}
}

static void on_signal(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	struct signalfd_siginfo si;
	if (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		machine_on_signal(m, si.ssi_signo);
}

/* PCI host hook: queue notifications become KVM ioeventfds. */
static int pci_ioeventfd(void *opaque, int fd, uint64_t addr, unsigned len, bool is_mmio, bool deassign)
{
	struct kvm *kvm = opaque;
	return deassign ? kvm_ioeventfd_deassign(kvm, fd, addr, len, !is_mmio, 0, 0)
			: kvm_ioeventfd_assign(kvm, fd, addr, len, !is_mmio, 0, 0);
}

static size_t serial_rx(void *opaque, const uint8_t *buf, size_t len)
{
	return serial_receive(opaque, buf, len);
}

/* The guest CPUID of vCPU index: supported, filtered by model, topology. */
static int build_cpuid(struct machine *m, unsigned index, struct cpuid_entry **out, unsigned *n)
{
	unsigned cap = m->nsupported + 2;
	struct cpuid_entry *e = calloc(cap, sizeof(*e));
	if (!e)
		return -ENOMEM;
	memcpy(e, m->supported, m->nsupported * sizeof(*e));
	unsigned cnt = cpuid_apply_model(e, m->nsupported, m->cfg->cpu_model);
	int ret = cpuid_set_vcpu(e, cnt, cap, index, m->cfg->ncpus);
	if (ret < 0) {
		free(e);
		return ret;
	}
	*out = e;
	*n = (unsigned)ret;
	return 0;
}

/* /dev/kvm, once per process, after the boot files were found good: a user
 * on a host without KVM still hears about a wrong option or file first. */
static int machine_open_kvm(struct machine *m)
{
	char msg[256];
	if (m->have_kvm)
		return 0;
	if (kvm_open(&m->kvm, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		return -ENODEV;
	}
	if (m->cfg->ncpus > kvm_max_vcpus(&m->kvm)) {
		fprintf(stderr, "vmm: -smp: %u CPUs is more than KVM allows here (%u)\n",
			m->cfg->ncpus, kvm_max_vcpus(&m->kvm));
		return -EINVAL;
	}
	int ret = kvm_get_supported_cpuid(&m->kvm, &m->supported, &m->nsupported);
	if (ret < 0) {
		fprintf(stderr, "vmm: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(-ret));
		return ret;
	}
	m->have_kvm = 1;
	return 0;
}

/* The legacy PC devices, in port order. */
static int machine_create_pc_devices(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;
	int ret;
	if (cfg->serial != SERIAL_NONE) {
		ret = serial_create(&m->serial, &m->pio, LAYOUT_PORT_COM1, &m->irq, LAYOUT_IRQ_COM1,
				    chardev_write, m->chardev);
		if (ret < 0)
			goto failed;
		chardev_set_receiver(m->chardev, serial_rx, m->serial);
	}
	ret = i8042_create(&m->i8042, &m->pio, &m->ctl);
	if (ret < 0)
		goto failed;
	/* CMOS as SeaBIOS reads it: memory sizes, CPU count at 0x5f. */
	ret = rtc_create(&m->rtc, &m->pio, &m->irq, LAYOUT_IRQ_RTC);
	if (ret < 0)
		goto failed;
	rtc_cmos_set_memory(m->rtc, guest_memory_low_size(&m->mem), guest_memory_high_size(&m->mem));
	rtc_cmos_set(m->rtc, 0x5f, (uint8_t)(cfg->ncpus - 1));
	ret = acpi_pm_create(&m->pm, &m->pio, &m->irq, LAYOUT_IRQ_ACPI_SCI, &m->ctl);
	if (ret < 0)
		goto failed;
	if (m->debugcon_chr) {
		ret = debugcon_create(&m->debugcon, &m->pio, DEBUGCON_DEFAULT_IOBASE,
				      chardev_write, m->debugcon_chr);
		if (ret < 0)
			goto failed;
	}
	if (cfg->debug_exit) {
		ret = debug_exit_create(&m->debug_exit, &m->pio, cfg->debug_exit_iobase,
					cfg->debug_exit_iosize, &m->ctl);
		if (ret < 0) {
			fprintf(stderr, "vmm: -device isa-debug-exit: iobase 0x%x: %s\n",
				cfg->debug_exit_iobase, strerror(-ret));
			return ret;
		}
	}
	return 0;
failed:
	fprintf(stderr, "vmm: creating the PC devices: %s\n", strerror(-ret));
	return ret;
}

static int machine_create_blk(struct machine *m, unsigned i)
{
	const struct cli_blk *b = &m->cfg->blk[i];
	const struct cli_drive *d = &m->cfg->drives[b->drive];
	struct virtio_blk_opts o = {
		.serial = b->serial ? b->serial : d->serial,
		.num_queues = b->num_queues,
		.queue_size = (uint16_t)b->queue_size,
		.read_only = d->read_only,
	};
	int ret = virtio_blk_create(&m->blk[i], m->be.bdev[b->drive], &o);
	if (ret == 0)
		ret = virtio_pci_create(&m->blk_pci[i], &m->pci, -1, virtio_blk_device(m->blk[i]),
					&m->mem, m->loop);
	if (ret < 0)
		fprintf(stderr, "vmm: virtio-blk-pci for %s %s: %s\n", d->opt, d->file,
			ret == -ENOSPC ? "no free PCI slot" : strerror(-ret));
	return ret;
}

/* A vCPU or the I/O thread: the guest moved a tray (vmm/media.h). */
static void cd_tray_moved(void *opaque, int open)
{
	uint64_t one = 1;
	if (write(((struct machine *)opaque)->tray_fd, &one, sizeof(one)) < 0) {
		/* saturated: the main thread is already woken */
	}
}

/* -cdrom / -drive media=cdrom: a virtio-scsi-pci HBA with the CD at
 * target 0 LUN 0 (docs/cdrom.md: Linux's virtio_scsi + sr_mod, SeaBIOS). */
static int machine_create_cd(struct machine *m, unsigned i)
{
	const struct cli_drive *d = &m->cfg->drives[i];
	int ret = virtio_scsi_create(&m->scsi[i], m->be.bdev[i], 0);
	if (ret == 0) {
		media_watch_tray(m->scsi[i], cd_tray_moved, m);
		m->tray_open[i] = !m->be.bdev[i];
	}
	/* Firmware boot: queue notifications are MMIO exits handled on the
	 * vCPU thread (no ioeventfd), so SeaBIOS finds each command answered
	 * when it first looks at the used ring; otherwise it waits in usleep(),
	 * a round trip through 16-bit mode per check, for each of the 256
	 * targets it scans (docs/performance.md, "ISO boot"). */
	struct event_loop *loop = m->cfg->kernel || m->cfg->kernel_from_iso ? m->loop : NULL;
	if (ret == 0)
		ret = virtio_pci_create(&m->scsi_pci[i], &m->pci, -1, virtio_scsi_device(m->scsi[i]),
					&m->mem, loop);
	if (ret < 0)
		fprintf(stderr, "vmm: virtio-scsi-pci for %s %s: %s\n", d->opt, d->file,
			ret == -ENOSPC ? "no free PCI slot" : strerror(-ret));
	return ret;
}

static int machine_create_net(struct machine *m, unsigned i)
{
	const struct cli_nic *n = &m->cfg->nics[i];
	struct virtio_net_opts o = { .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + i) } };
	if (n->has_mac)
		memcpy(o.mac, n->mac, sizeof(o.mac));
	int ret = virtio_net_create(&m->net[i], m->be.tap[n->netdev], m->loop, &o);
	if (ret == 0)
		ret = virtio_pci_create(&m->net_pci[i], &m->pci, -1, virtio_net_device(m->net[i]),
					&m->mem, m->loop);
	if (ret < 0)
		fprintf(stderr, "vmm: virtio-net-pci on netdev '%s': %s\n", m->cfg->netdevs[n->netdev].id,
			ret == -ENOSPC ? "no free PCI slot" : strerror(-ret));
	return ret;
}

/* PCI host bridge (conf1 + ECAM), 0xcf9 through it, and the PCI functions
 * on the next free slots in command-line order per kind. */
static int machine_create_pci_devices(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;
	struct pci_host_hooks hooks = { .ioeventfd_assign = pci_ioeventfd, .opaque = &m->kvm };
	int ret = pci_host_init(&m->pci, &m->pio, &m->mmio, &m->irq, &hooks);
	if (ret < 0) {
		fprintf(stderr, "vmm: creating the PCI host: %s\n", strerror(-ret));
		return ret;
	}
	m->have_pci = 1;
	pci_host_set_cf9_handler(&m->pci, &acpi_pm_cf9_ops, m->pm);
	for (unsigned i = 0; i < cfg->virtio_rng; i++) {
		ret = virtio_rng_create(&m->rng[i]);
		if (ret == 0)
			ret = virtio_pci_create(&m->rng_pci[i], &m->pci, -1, virtio_rng_device(m->rng[i]),
						&m->mem, m->loop);
		if (ret < 0) {
			fprintf(stderr, "vmm: -device virtio-rng-pci: %s\n", strerror(-ret));
			return ret;
		}
	}
	for (unsigned i = 0; i < cfg->nblk; i++)
		if ((ret = machine_create_blk(m, i)) < 0)
			return ret;
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].media == CLI_MEDIA_CDROM && (ret = machine_create_cd(m, i)) < 0)
			return ret;
	for (unsigned i = 0; i < cfg->nnics; i++)
		if ((ret = machine_create_net(m, i)) < 0)
			return ret;
	return 0;
}

/* SeaBIOS "bootorder" (docs/bootindex.txt paths, newline-separated) from
 * -boot order=: c = the virtio-blk disks, d = the CDs, n = the virtio-net functions. */
static void machine_bootorder(struct machine *m, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (const char *o = m->cfg->boot_order; *o; o++) {
		/* d: the CDs, as SeaBIOS names a virtio-scsi LUN (target 0, LUN 0) */
		for (unsigned i = 0; *o == 'd' && i < CLI_MAX_DRIVES && off < len; i++)
			if (m->scsi_pci[i])
				off += (size_t)snprintf(buf + off, len - off, "%s/pci@i0cf8/scsi@%x/channel@0/disk@0,0",
							off ? "\n" : "", virtio_pci_pci_device(m->scsi_pci[i])->slot);
		unsigned n = *o == 'c' ? m->cfg->nblk : *o == 'n' ? m->cfg->nnics : 0;
		for (unsigned i = 0; i < n && off < len; i++) {
			struct virtio_pci *vp = *o == 'c' ? m->blk_pci[i] : m->net_pci[i];
			off += (size_t)snprintf(buf + off, len - off, "%s/pci@i0cf8/%s@%x", off ? "\n" : "",
						*o == 'c' ? "scsi" : "ethernet", virtio_pci_pci_device(vp)->slot);
		}
	}
}

/* Firmware boot: fw_cfg tells SeaBIOS the board (RAM, CPUs, e820, ACPI
 * tables through the table-loader, console on COM1, boot order). */
static int machine_create_fw_cfg(struct machine *m)
{
	char order[1024];
	int ret = fw_cfg_create(&m->fw_cfg, &m->pio, LAYOUT_PORT_FW_CFG, &m->mem);
	if (ret == 0) {
		machine_bootorder(m, order, sizeof(order));
		ret = firmware_fw_cfg_setup(m->fw_cfg, &m->mem, m->cfg->ncpus, 1, order);
		/* -BOOT_ERR_* (1..8) from the ACPI builder, else fw_cfg errnos
		 * (ENOMEM, EEXIST, ENOSPC, ...), which are all larger. */
		if (ret < 0 && ret > -BOOT_ERR_MAX) {
			fprintf(stderr, "vmm: firmware configuration: %s\n", boot_strerror(ret));
			return ret;
		}
	}
	if (ret == 0 && m->cfg->boot_menu)
		ret = fw_cfg_add_i16(m->fw_cfg, FW_CFG_BOOT_MENU, 1);
	if (ret < 0)
		fprintf(stderr, "vmm: firmware configuration: %s\n", strerror(-ret));
	return ret;
}

/* RAM slots, then the firmware ROM (when firmware_load added one) as a
 * read-only slot, so guest writes to it exit and are dropped. */
static int machine_set_memory(struct machine *m)
{
	struct firmware_image rom;
	struct guest_memory ram = m->mem;
	int have_rom = firmware_rom(&m->mem, &rom) == 0;
	if (have_rom) {
		unsigned n = 0;
		for (unsigned i = 0; i < m->mem.nregions; i++)
			if (m->mem.regions[i].gpa != rom.gpa)
				ram.regions[n++] = m->mem.regions[i];
		ram.nregions = n;
	}
	int ret = kvm_set_memory(&m->kvm, &ram);
	if (ret == 0 && have_rom)
		ret = kvm_add_rom(&m->kvm, rom.gpa, rom.size, rom.data);
	if (ret < 0)
		fprintf(stderr, "vmm: KVM_SET_USER_MEMORY_REGION: %s\n", strerror(-ret));
	return ret;
}

/* The BSP gets the loader's registers, APs wait for INIT/SIPI. */
static int machine_create_vcpus(struct machine *m, const struct boot_cpu_state *boot_cpu)
{
	char msg[256];
	int ret;
	m->env = (struct vcpu_env){
		.kvm = &m->kvm, .pio = &m->pio, .mmio = &m->mmio, .mem = &m->mem,
		.ctl = &m->ctl, .fail = vcpu_failed, .fail_opaque = m,
	};
	for (unsigned i = 0; i < m->cfg->ncpus; i++) {
		struct cpuid_entry *cpuid;
		unsigned ncpuid;
		ret = build_cpuid(m, i, &cpuid, &ncpuid);
		if (ret < 0) {
			fprintf(stderr, "vmm: CPUID for vCPU %u: %s\n", i, strerror(-ret));
			return ret;
		}
		ret = vcpu_create(&m->vcpus[i], &m->env, i, cpuid, ncpuid, msg, sizeof(msg));
		free(cpuid);
		if (ret < 0) {
			fprintf(stderr, "vmm: %s\n", msg);
			return ret;
		}
		m->nvcpus = i + 1;
	}
	ret = vcpu_set_boot_state(&m->vcpus[0], boot_cpu);
	if (ret < 0) {
		fprintf(stderr, "vmm: vCPU 0: setting boot registers: %s\n", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < m->nvcpus && !m->hold_vcpus; i++) {
		ret = vcpu_start(&m->vcpus[i]);
		if (ret < 0) {
			fprintf(stderr, "vmm: vCPU %u: cannot start thread: %s\n", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* The PC board, in bring-up order. Returns 0 or -errno after printing one
 * "vmm: ..." line. */
static int machine_bring_up(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;
	char msg[256];
	int ret;

	/* 1. RAM, laid out per boot/layout.h (below 3 GiB, rest above 4 GiB). */
	ret = guest_memory_init(&m->mem, cfg->ram_size);
	if (ret < 0) {
		fprintf(stderr, "vmm: -m: cannot allocate %" PRIu64 " MiB of guest RAM: %s\n",
			cfg->ram_size >> 20, strerror(-ret));
		return ret;
	}

	/* 2. The boot image: kernel/firmware, initrd, command line, tables.
	 * Loading touches only RAM, so it comes before KVM (see above). */
	const char *kernel = cfg->kernel, *initrd = cfg->initrd, *cmdline = cfg->append;
	char iso_kernel[64], iso_initrd[64], iso_cmdline[ISOBOOT_CMDLINE_MAX + 64];
	if (cfg->kernel_from_iso) {
		/* The CD's default isolinux/grub entry, read out of the ISO into
		 * memfds that the loader opens like files (boot/isoboot.c). */
		const char *iso = NULL;
		for (unsigned i = 0; i < cfg->ndrives && !iso; i++)
			if (cfg->drives[i].media == CLI_MEDIA_CDROM)
				iso = cfg->drives[i].file;
		if (!iso || cfg->kernel) {
			fprintf(stderr, "vmm: -kernel-from-iso: %s\n", iso ? "conflicts with -kernel" : "needs -cdrom FILE");
			return -EINVAL;
		}
		ret = isoboot_prepare(iso, iso_kernel, sizeof(iso_kernel), iso_initrd, sizeof(iso_initrd),
				      iso_cmdline, sizeof(iso_cmdline), msg, sizeof(msg));
		if (ret < 0) {
			fprintf(stderr, "vmm: -kernel-from-iso: %s\n", msg);
			return ret;
		}
		if (cfg->append && *cfg->append &&
		    strlen(iso_cmdline) + 1 + strlen(cfg->append) < sizeof(iso_cmdline)) {
			strcat(iso_cmdline, " ");
			strcat(iso_cmdline, cfg->append);
		}
		kernel = iso_kernel;
		initrd = iso_initrd[0] ? iso_initrd : cfg->initrd;
		cmdline = iso_cmdline;
		log_msg(VMM_LOG_INFO, "-kernel-from-iso: %s: command line '%s'", iso, iso_cmdline);
	}
	struct boot_config bc = {
		.kernel = kernel,
		.initrd = initrd,
		.cmdline = cmdline,
		.firmware = cfg->bios,
		.ncpus = cfg->ncpus,
		.pci = 1,
	};
	struct boot_cpu_state boot_cpu;
	const char *failed = NULL;
	memset(&boot_cpu, 0, sizeof(boot_cpu));
	ret = boot_load(&m->mem, &bc, &boot_cpu, &failed);
	if (cfg->kernel_from_iso) {   /* the loader has read them */
		isoboot_release(iso_kernel);
		isoboot_release(iso_initrd);
	}
	if (ret < 0) {
		fprintf(stderr, "vmm: %s: %s\n", failed ? failed : "boot", boot_strerror(ret));
		return ret;
	}

	/* 3. The VM: TSS/identity map, in-kernel PIC+IOAPIC+LAPIC and PIT. */
	ret = machine_open_kvm(m);
	if (ret < 0)
		return ret;
	ret = kvm_create_vm(&m->kvm, msg, sizeof(msg));
	if (ret < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		return ret;
	}
	m->have_vm = 1;
	ret = machine_set_memory(m);
	if (ret < 0)
		return ret;
	kvm_irq_init(&m->kvm, &m->irq);
	m->ctl = (struct vm_control){ ctl_reset, ctl_poweroff, ctl_exit, m };

	/* 4. Buses and the devices on them. */
	bus_init(&m->pio, "pio");
	bus_init(&m->mmio, "mmio");
	m->have_buses = 1;
	ret = machine_create_pc_devices(m);
	if (ret == 0)
		ret = machine_create_pci_devices(m);
	if (ret == 0 && !cfg->kernel)
		ret = machine_create_fw_cfg(m);
	if (ret < 0)
		return ret;

	/* 5. vCPUs, without root (-chroot, -runas) and under the seccomp
	 * sandbox from here on (vmm/privileges.h, vmm/sandbox.h). */
	if (privileges_drop(cfg->runas, cfg->chroot_dir, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		return -EPERM;
	}
	if (sandbox_apply_process((enum sandbox_mode)cfg->sandbox) < 0)
		return -EPERM;
	return machine_create_vcpus(m, &boot_cpu);
}

static void machine_stop_vcpus(struct machine *m)
{
	for (unsigned i = 0; i < m->nvcpus; i++)
		vcpu_kick(&m->vcpus[i]);
	for (unsigned i = 0; i < m->nvcpus; i++)
		vcpu_join(&m->vcpus[i]);
}

/* The virtio devices: they finish or cancel their in-flight block and net
 * requests before the backends are flushed and closed. */
static void machine_destroy_virtio(struct machine *m)
{
	for (unsigned i = 0; i < CLI_MAX_DRIVES; i++) {
		if (m->scsi_pci[i])
			virtio_pci_destroy(m->scsi_pci[i]);
		if (m->scsi[i])
			virtio_scsi_destroy(m->scsi[i]);
		m->scsi_pci[i] = NULL;
		m->scsi[i] = NULL;
	}
	for (unsigned i = 0; i < CLI_MAX_BLK; i++) {
		if (m->blk_pci[i])
			virtio_pci_destroy(m->blk_pci[i]);
		if (m->blk[i])
			virtio_blk_destroy(m->blk[i]);
		m->blk_pci[i] = NULL;
		m->blk[i] = NULL;
	}
	for (unsigned i = 0; i < CLI_MAX_NICS; i++) {
		if (m->net_pci[i])
			virtio_pci_destroy(m->net_pci[i]);
		if (m->net[i])
			virtio_net_destroy(m->net[i]);
		m->net_pci[i] = NULL;
		m->net[i] = NULL;
	}
	for (unsigned i = 0; i < CLI_MAX_VIRTIO_RNG; i++) {
		if (m->rng_pci[i])
			virtio_pci_destroy(m->rng_pci[i]);
		if (m->rng[i])
			virtio_rng_destroy(m->rng[i]);
		m->rng_pci[i] = NULL;
		m->rng[i] = NULL;
	}
}

static void machine_tear_down(struct machine *m)
{
	machine_stop_vcpus(m);
	for (unsigned i = 0; i < m->nvcpus; i++)
		vcpu_destroy(&m->vcpus[i]);
	m->nvcpus = 0;
	chardev_set_receiver(m->chardev, NULL, NULL);
	machine_destroy_virtio(m);
	if (m->have_pci)
		pci_host_destroy(&m->pci);
	m->have_pci = 0;
	if (m->debug_exit)
		debug_exit_destroy(m->debug_exit);
	debugcon_destroy(m->debugcon);
	m->debugcon = NULL;
	if (m->pm)
		acpi_pm_destroy(m->pm);
	m->pm = NULL;
	if (m->fw_cfg)
		fw_cfg_destroy(m->fw_cfg);
	m->fw_cfg = NULL;
	if (m->rtc)
		rtc_destroy(m->rtc);
	if (m->i8042)
		i8042_destroy(m->i8042);
	if (m->serial)
		serial_destroy(m->serial);
	m->debug_exit = NULL;
	m->rtc = NULL;
	m->i8042 = NULL;
	m->serial = NULL;
	if (m->have_buses) {
		bus_destroy(&m->pio);
		bus_destroy(&m->mmio);
		m->have_buses = 0;
	}
	if (m->have_vm)
		kvm_destroy_vm(&m->kvm);
	m->have_vm = 0;
	guest_memory_destroy(&m->mem);
}

static int check_ram_size(uint64_t ram)
{
	if (ram < LAYOUT_MIN_RAM || (ram & 0xfff)) {
		fprintf(stderr, "vmm: -m: %" PRIu64 " bytes: guest RAM must be at least %llu MiB and a multiple of 4 KiB\n",
			ram, LAYOUT_MIN_RAM >> 20);
		return -EINVAL;
	}
	/* sysinfo(2): MemTotal + SwapTotal of /proc/meminfo in one system call
	 * (reading and parsing the file was six, at every start). */
	struct sysinfo si;
	uint64_t host = 0;
	if (sysinfo(&si) == 0)
		host = ((uint64_t)si.totalram + si.totalswap) * (si.mem_unit ? si.mem_unit : 1);
	if (host && ram > host) {
		fprintf(stderr, "vmm: -m: %" PRIu64 " MiB is more than the host has (%" PRIu64 " MiB RAM + swap)\n",
			ram >> 20, host >> 20);
		return -ENOMEM;
	}
	return 0;
}

/* ---- QMP, signals and the run state (vmm/qmp.h, docs/usage.md "Headless
 * servers"). Pause parks the vCPU threads outside KVM_RUN: they are kicked
 * and joined, and started again on cont; KVM keeps their state. */

static void machine_emit(struct machine *m, const char *event, const char *data)
{
	qmp_server_emit(m->qmp, event, data);
}

static enum qmp_run_state mq_state(void *opaque)
{
	return ((struct machine *)opaque)->state;
}

static int mq_stop(void *opaque, char *msg, size_t len)
{
	struct machine *m = opaque;
	if (m->state != QMP_STATE_RUNNING)
		return 0;
	machine_stop_vcpus(m);
	m->state = QMP_STATE_PAUSED;
	machine_emit(m, "STOP", NULL);
	return 0;
}

static int mq_cont(void *opaque, char *msg, size_t len)
{
	struct machine *m = opaque;
	if (m->state == QMP_STATE_SHUTDOWN) {
		snprintf(msg, len, "Resetting the Virtual Machine is required");
		return -EINVAL;
	}
	if (m->state != QMP_STATE_PAUSED && m->state != QMP_STATE_PRELAUNCH)
		return 0;
	for (unsigned i = 0; i < m->nvcpus; i++) {
		__atomic_store_n(&m->vcpus[i].stop, 0, __ATOMIC_RELEASE);
		int ret = vcpu_start(&m->vcpus[i]);
		if (ret < 0) {
			snprintf(msg, len, "vCPU %u: cannot start thread: %s", i, strerror(-ret));
			machine_post(m, REQ_FAIL, VMM_EXIT_INTERNAL);
			return ret;
		}
	}
	m->state = QMP_STATE_RUNNING;
	machine_emit(m, "RESUME", NULL);
	return 0;
}

static int mq_powerdown(void *opaque, char *msg, size_t len)
{
	struct machine *m = opaque;
	if (!m->pm) {
		snprintf(msg, len, "the machine has no ACPI power button");
		return -ENODEV;
	}
	acpi_pm_power_button(m->pm);
	machine_emit(m, "POWERDOWN", NULL);
	return 0;
}

static int mq_reset(void *opaque, char *msg, size_t len)
{
	struct machine *m = opaque;
	m->reset_by_host = 1;
	machine_post(m, REQ_RESET, 0);
	return 0;
}

static void mq_quit(void *opaque)
{
	struct machine *m = opaque;
	m->quit_reason = "host-qmp-quit";
	machine_post(m, REQ_QUIT, 0);
}

static unsigned mq_cpus(void *opaque, struct qmp_cpu_info *out, unsigned max)
{
	struct machine *m = opaque;
	unsigned n = 0;
	for (unsigned i = 0; i < m->nvcpus && n < max; i++, n++) {
		char comm[16];
		snprintf(comm, sizeof(comm), "vcpu%u", i);
		out[n].index = i;
		out[n].thread_id = m->vcpus[i].started ? qmp_find_thread(comm) : 0;
	}
	return n;
}

static unsigned mq_blocks(void *opaque, struct qmp_block_info *out, unsigned max)
{
	struct machine *m = opaque;
	unsigned n = 0;
	for (unsigned i = 0; i < m->cfg->ndrives && n < max; i++) {
		const struct cli_drive *d = &m->cfg->drives[i];
		struct block_dev *bs = m->be.bdev[i];
		media_drive_name(&m->be, i, m->blkname[i], sizeof(m->blkname[i]));
		out[n] = (struct qmp_block_info){
			.device = m->blkname[i], .file = bs ? bs->filename : d->file,
			.format = bs && bs->drv ? bs->drv->format : d->format,
			.size = bs ? bs->size : 0,
			.read_only = d->read_only || d->media == CLI_MEDIA_CDROM,
		};
		media_query(&m->be, m->scsi, i, &out[n]);
		n++;
	}
	return n;
}

static void emit_tray(struct machine *m, unsigned i, int open)
{
	char data[160];
	m->tray_open[i] = open;
	media_drive_name(&m->be, i, m->blkname[i], sizeof(m->blkname[i]));
	snprintf(data, sizeof(data), "{\"device\": \"%s\", \"id\": \"%s\", \"tray-open\": %s}",
		 m->blkname[i], m->blkname[i], open ? "true" : "false");
	machine_emit(m, "DEVICE_TRAY_MOVED", data);
}

/* eject / blockdev-change-medium / change (vmm/media.h), DEVICE_TRAY_MOVED. */
static int mq_medium(void *opaque, const struct qmp_medium_args *a, char *msg, size_t len)
{
	struct machine *m = opaque;
	unsigned i, moved;
	int ret = media_change(&m->be, m->scsi, a, &i, &moved, msg, len);
	if (ret < 0)
		return ret;
	if (moved & MEDIA_TRAY_OPENED)
		emit_tray(m, i, 1);
	if (moved & MEDIA_TRAY_CLOSED)
		emit_tray(m, i, 0);
	return 0;
}

/* tray_fd: report the trays the guest moved (coalesced: state changes). */
static void on_tray(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	uint64_t v;
	if (read(m->tray_fd, &v, sizeof(v)) < 0) {
		/* spurious */
	}
	for (unsigned i = 0; i < m->cfg->ndrives; i++) {
		struct qmp_block_info b;
		if (!m->scsi[i])
			continue;
		media_query(&m->be, m->scsi, i, &b);
		if (b.tray_open != m->tray_open[i])
			emit_tray(m, i, b.tray_open);
	}
}

static void on_term_timeout(void *opaque, uint32_t events)
{
	struct machine *m = opaque;
	uint64_t v;
	if (read(m->term_fd, &v, sizeof(v)) < 0) {
		/* spurious */
	}
	log_msg(VMM_LOG_WARN, "the guest did not power off within %u s of SIGTERM; stopping it",
		m->cfg->shutdown_timeout);
	m->quit_reason = "host-signal";
	machine_post(m, REQ_QUIT, 0);
}

/* SIGTERM presses the power button and gives the guest shutdown_timeout
 * seconds (a second SIGTERM, or SIGINT, ends at once); SIGHUP is ignored by
 * a daemon, which has no terminal to lose. */
static void machine_on_signal(struct machine *m, unsigned signo)
{
	if (signo == SIGHUP && daemon_is_daemon())
		return;
	if (signo == SIGTERM && !m->term_pending && m->pm && m->state != QMP_STATE_SHUTDOWN) {
		m->term_pending = 1;
		log_msg(VMM_LOG_INFO, "SIGTERM: pressing the ACPI power button");
		acpi_pm_power_button(m->pm);
		machine_emit(m, "POWERDOWN", NULL);
		if (m->cfg->shutdown_timeout && m->term_fd < 0) {
			m->term_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
			struct itimerspec its = { .it_value = { .tv_sec = m->cfg->shutdown_timeout } };
			if (m->term_fd < 0 || timerfd_settime(m->term_fd, 0, &its, NULL) < 0 ||
			    event_loop_add(m->loop, m->term_fd, EPOLLIN, on_term_timeout, m) < 0) {
				log_msg(VMM_LOG_WARN, "no SIGTERM timer (%s): stopping now", strerror(errno));
				m->quit_reason = "host-signal";
				machine_post(m, REQ_QUIT, 0);
			}
		}
		return;
	}
	log_msg(VMM_LOG_INFO, "terminating on signal %u", signo);
	m->quit_reason = "host-signal";
	machine_post(m, REQ_QUIT, 0);
}

static int machine_start_qmp(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;
	char msg[256];
	m->qmp_ops = (struct qmp_vm_ops){
		.state = mq_state, .stop = mq_stop, .cont = mq_cont, .powerdown = mq_powerdown,
		.reset = mq_reset, .quit = mq_quit, .cpus = mq_cpus, .blocks = mq_blocks,
		.medium = mq_medium, .opaque = m,
	};
	if (!cfg->nqmp)
		return 0;
	int ret = qmp_server_create(&m->qmp, m->loop, &m->qmp_ops, cfg->name);
	if (ret < 0) {
		fprintf(stderr, "vmm: -qmp: %s\n", strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < cfg->nqmp; i++)
		if ((ret = qmp_server_listen_unix(m->qmp, cfg->qmp_paths[i], msg, sizeof(msg))) < 0) {
			fprintf(stderr, "vmm: -qmp %s\n", msg);
			return ret;
		}
	return 0;
}

/* Events for the request that ended a run, and -no-shutdown: after a guest
 * power-off the process stays in state "shutdown" (vCPUs stopped) until
 * system_reset, quit or a signal. Returns the request to act on. */
static int machine_finish_request(struct machine *m, int req)
{
	for (;;) {
		char data[96];
		int kind = REQ_KIND(req);
		if (kind == REQ_RESET) {
			int host = m->reset_by_host;
			m->reset_by_host = 0;
			snprintf(data, sizeof(data), "{\"guest\": %s, \"reason\": \"%s\"}",
				 host ? "false" : "true", host ? "host-qmp-system-reset" : "guest-reset");
			machine_emit(m, m->cfg->no_reboot ? "SHUTDOWN" : "RESET", data);
			return req;
		}
		if (kind == REQ_QUIT) {
			snprintf(data, sizeof(data), "{\"guest\": false, \"reason\": \"%s\"}",
				 m->quit_reason ? m->quit_reason : "host-signal");
			machine_emit(m, "SHUTDOWN", data);
			return req;
		}
		if (kind != REQ_POWEROFF)
			return req;
		machine_emit(m, "SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}");
		if (!m->cfg->no_shutdown || m->term_pending)
			return req;
		m->state = QMP_STATE_SHUTDOWN;
		__atomic_store_n(&m->request, REQ_NONE, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&m->request, __ATOMIC_SEQ_CST) == REQ_NONE)
			if (event_loop_run_once(m->loop, -1) < 0)
				machine_post(m, REQ_FAIL, VMM_EXIT_INTERNAL);
		req = __atomic_load_n(&m->request, __ATOMIC_SEQ_CST);
		if (REQ_KIND(req) == REQ_RESET && m->cfg->no_reboot)
			req = REQ(REQ_RESET, 0);
	}
}

/* Release builds skip the tear-down that process exit does anyway; ASan
 * builds keep it (LeakSanitizer checks that every allocation is freed, and
 * the destroy paths stay exercised). */
#if defined(__SANITIZE_ADDRESS__)
#define MACHINE_FAST_EXIT 0
#else
#define MACHINE_FAST_EXIT 1
#endif

int machine_run(const struct vmm_config *cfg)
{
	struct machine *m = calloc(1, sizeof(*m));
	char msg[256];
	int status = VMM_EXIT_SETUP, ran = 0;
	if (!m) {
		fprintf(stderr, "vmm: out of memory\n");
		return VMM_EXIT_INTERNAL;
	}
	m->cfg = cfg;
	m->req_fd = m->sig_fd = m->term_fd = m->tray_fd = -1;
	m->kvm.sys_fd = m->kvm.vm_fd = -1;

	/* Order: options, then files (chardev, images, taps, kernel), then
	 * /dev/kvm, so every user error is reported on any host. */
	if (check_ram_size(cfg->ram_size) < 0)
		goto out;
	int ret;
	if (vcpu_signal_init() < 0 || event_loop_create(&m->loop) < 0) {
		fprintf(stderr, "vmm: cannot set up the main loop: %s\n", strerror(errno));
		goto out;
	}
	m->req_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->tray_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->req_fd < 0 || event_loop_add(m->loop, m->req_fd, EPOLLIN, on_request, m) < 0 ||
	    m->tray_fd < 0 || event_loop_add(m->loop, m->tray_fd, EPOLLIN, on_tray, m) < 0) {
		fprintf(stderr, "vmm: eventfd: %s\n", strerror(errno));
		goto out;
	}
	/* Blocked before any thread starts, so only the signalfd sees them and
	 * the terminal and sockets are cleaned up by the normal exit path. */
	sigset_t quit_sigs;
	sigemptyset(&quit_sigs);
	sigaddset(&quit_sigs, SIGINT);
	sigaddset(&quit_sigs, SIGTERM);
	sigaddset(&quit_sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &quit_sigs, NULL);
	m->sig_fd = signalfd(-1, &quit_sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sig_fd < 0 || event_loop_add(m->loop, m->sig_fd, EPOLLIN, on_signal, m) < 0) {
		fprintf(stderr, "vmm: signalfd: %s\n", strerror(errno));
		goto out;
	}
	if (cfg->serial != SERIAL_NONE &&
	    chardev_open(&m->chardev, "-serial", cfg->serial, cfg->serial_path, m->loop,
			 user_quit, m, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		goto out;
	}
	if (cfg->debugcon_path &&
	    chardev_open(&m->debugcon_chr, "-debugcon", SERIAL_FILE, cfg->debugcon_path, m->loop,
			 NULL, NULL, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		goto out;
	}
	if (backends_open(&m->be, cfg, m->loop, block_engine_failed, m) < 0 || machine_start_qmp(m) < 0)
		goto out;

	/* -S: the first bring-up leaves the vCPUs stopped ("prelaunch"); a
	 * reset while paused or in prelaunch keeps that state, as QEMU. */
	enum qmp_run_state held = QMP_STATE_PRELAUNCH;
	m->hold_vcpus = cfg->start_paused;
	for (;;) {
		__atomic_store_n(&m->request, REQ_NONE, __ATOMIC_SEQ_CST);
		if (machine_bring_up(m) < 0) {
			status = VMM_EXIT_SETUP;
			break;
		}
		m->state = m->hold_vcpus ? held : QMP_STATE_RUNNING;
		ran = 1;
		daemon_ready();         /* -daemonize: the parent exits 0 now */
		sandbox_test_hook("main");
		while (__atomic_load_n(&m->request, __ATOMIC_SEQ_CST) == REQ_NONE) {
			ret = event_loop_run_once(m->loop, -1);
			if (ret < 0) {
				fprintf(stderr, "vmm: event loop: %s\n", strerror(-ret));
				machine_post(m, REQ_FAIL, VMM_EXIT_INTERNAL);
			}
		}
		machine_stop_vcpus(m);
		int req = machine_finish_request(m, __atomic_load_n(&m->request, __ATOMIC_SEQ_CST));
		if (REQ_KIND(req) == REQ_RESET && !cfg->no_reboot) {
			held = m->state;
			m->hold_vcpus = held == QMP_STATE_PAUSED || held == QMP_STATE_PRELAUNCH;
			machine_tear_down(m);
			continue;
		}
		switch (REQ_KIND(req)) {
		case REQ_EXIT:
		case REQ_FAIL:
			status = REQ_STATUS(req);
			break;
		default:        /* poweroff, -no-reboot reset, Ctrl-A x */
			status = VMM_EXIT_OK;
			break;
		}
		break;
	}

out:
	if (MACHINE_FAST_EXIT && ran) {
		/* The process exits next: unmapping guest RAM, closing the vCPUs
		 * and the VM and freeing the devices is what exit does for us
		 * (docs/performance.md, "Launch"). Still done: stop the vCPUs and
		 * finish the virtio requests here, then below flush and close the
		 * images, restore the terminal, flush QMP's SHUTDOWN. */
		machine_stop_vcpus(m);
		chardev_set_receiver(m->chardev, NULL, NULL);
		machine_destroy_virtio(m);
	} else {
		machine_tear_down(m);
	}
	backends_close(&m->be);
	chardev_close(m->chardev);
	chardev_close(m->debugcon_chr);
	qmp_server_destroy(m->qmp);     /* answers and SHUTDOWN flushed, sockets unlinked */
	if (MACHINE_FAST_EXIT && ran)
		return status;          /* the rest is the kernel's at exit */
	if (m->term_fd >= 0)
		close(m->term_fd);
	if (m->loop)
		event_loop_destroy(m->loop);
	if (m->req_fd >= 0)
		close(m->req_fd);
	if (m->tray_fd >= 0)
		close(m->tray_fd);
	if (m->sig_fd >= 0)
		close(m->sig_fd);
	free(m->supported);
	kvm_close(&m->kvm);
	free(m);
	return status;
}
