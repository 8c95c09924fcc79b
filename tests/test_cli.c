/* Unit tests for vmm/cli.c: every option's accepted spellings, defaults, and
 * the exact one-line error for bad input. */
#include "tests/check.h"
#include "vmm/cli.h"

#include <errno.h>

#define ARGV(...) ((char *[]){ "vmm", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "vmm", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cfg, err, ...) cli_parse(cfg, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err, sizeof(err))

static void test_defaults(void)
{
	struct vmm_config c;
	char err[256] = "";
	char *argv[] = { "vmm", NULL };
	CHECK_EQ(cli_parse(&c, 1, argv, err, sizeof(err)), 0);
	CHECK_EQ(c.ram_size, 128ULL << 20);
	CHECK_EQ(c.ncpus, 1);
	CHECK_EQ(c.cpu_model, CPU_MODEL_HOST);
	CHECK_EQ(c.serial, SERIAL_STDIO);
	CHECK_EQ(c.debug_exit, 0);
	CHECK_EQ(c.no_reboot, 0);
	CHECK(c.kernel == NULL);
	CHECK_EQ(c.ndrives, 0);
	CHECK_EQ(c.nblk, 0);
	CHECK_EQ(c.nnics, 0);
}

static void test_sizes(void)
{
	uint64_t v;
	CHECK_EQ(cli_parse_size("512M", &v), 0);
	CHECK_EQ(v, 512ULL << 20);
	CHECK_EQ(cli_parse_size("2G", &v), 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK_EQ(cli_parse_size("2g", &v), 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK_EQ(cli_parse_size("65536K", &v), 0);
	CHECK_EQ(v, 64ULL << 20);
	CHECK_EQ(cli_parse_size("256", &v), 0);       /* MiB by default */
	CHECK_EQ(v, 256ULL << 20);
	CHECK_EQ(cli_parse_size("1GiB", &v), 0);
	CHECK_EQ(v, 1ULL << 30);
	CHECK_EQ(cli_parse_size("abc", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("12Q", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("-1G", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("99999999999999999999", &v), -EINVAL);
	CHECK_EQ(cli_parse_size("17179869184T", &v), -EINVAL);   /* overflows 64 bits */
	CHECK_EQ(cli_parse_size("1M2", &v), -EINVAL);
}

static void test_m(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-m", "512M"), 0);
	CHECK_EQ(c.ram_size, 512ULL << 20);
	CHECK_EQ(PARSE(&c, err, "--m", "1G"), 0);
	CHECK_EQ(c.ram_size, 1ULL << 30);
	CHECK_EQ(PARSE(&c, err, "-m", "size=2G"), 0);
	CHECK_EQ(c.ram_size, 2ULL << 30);
	CHECK_EQ(PARSE(&c, err, "-m", "size=256M,slots=2,maxmem=1G"), 0);
	CHECK_EQ(c.ram_size, 256ULL << 20);
	CHECK_EQ(PARSE(&c, err, "--m=64M"), 0);
	CHECK_EQ(c.ram_size, 64ULL << 20);

	CHECK_EQ(PARSE(&c, err, "-m", "abc"), -EINVAL);
	CHECK_STR(err, "-m: invalid size 'abc'");
	CHECK_EQ(PARSE(&c, err, "-m", "0"), -EINVAL);
	CHECK_STR(err, "-m: invalid size '0'");
	CHECK_EQ(PARSE(&c, err, "-m", "size=x"), -EINVAL);
	CHECK_STR(err, "-m: invalid size 'x'");
	CHECK_EQ(PARSE(&c, err, "-m"), -EINVAL);
	CHECK_STR(err, "-m: requires an argument");
}

static void test_smp_cpu(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-smp", "4"), 0);
	CHECK_EQ(c.ncpus, 4);
	CHECK_EQ(PARSE(&c, err, "-smp", "cpus=2,sockets=1,cores=2,threads=1"), 0);
	CHECK_EQ(c.ncpus, 2);
	CHECK_EQ(PARSE(&c, err, "-smp", "64"), 0);
	CHECK_EQ(c.ncpus, 64);
	CHECK_EQ(PARSE(&c, err, "-smp", "65"), -EINVAL);
	CHECK_STR(err, "-smp: invalid CPU count '65' (1..64)");
	CHECK_EQ(PARSE(&c, err, "-smp", "0"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-smp", "two"), -EINVAL);
	CHECK_STR(err, "-smp: invalid CPU count 'two' (1..64)");

	CHECK_EQ(PARSE(&c, err, "-cpu", "baseline"), 0);
	CHECK_EQ(c.cpu_model, CPU_MODEL_BASELINE);
	CHECK_EQ(PARSE(&c, err, "-cpu", "qemu64"), 0);
	CHECK_EQ(c.cpu_model, CPU_MODEL_BASELINE);
	CHECK_EQ(PARSE(&c, err, "-cpu", "kvm64"), 0);
	CHECK_EQ(c.cpu_model, CPU_MODEL_BASELINE);
	CHECK_EQ(PARSE(&c, err, "-cpu", "host"), 0);
	CHECK_EQ(c.cpu_model, CPU_MODEL_HOST);
	CHECK_EQ(PARSE(&c, err, "-cpu", "pentium"), -EINVAL);
	CHECK_STR(err, "-cpu: unknown CPU model 'pentium' (known: host, baseline, qemu64, kvm64)");
}

static void test_files_and_flags(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-kernel", "vmlinux", "-initrd", "initrd.img", "-append",
		       "console=ttyS0", "-nographic", "-no-reboot", "-enable-kvm", "-accel", "kvm",
		       "-display", "none", "-name", "test", "-bios", "bios.bin", "-M", "q35"), 0);
	CHECK_STR(c.kernel, "vmlinux");
	CHECK_STR(c.initrd, "initrd.img");
	CHECK_STR(c.append, "console=ttyS0");
	CHECK_STR(c.bios, "bios.bin");
	CHECK_STR(c.name, "test");
	CHECK_STR(c.machine, "q35");
	CHECK_EQ(c.nographic, 1);
	CHECK_EQ(c.no_reboot, 1);
	CHECK_EQ(c.display_none, 1);
	CHECK_EQ(PARSE(&c, err, "-machine", "microvm"), 0);
	CHECK_STR(c.machine, "microvm");
	CHECK_EQ(PARSE(&c, err, "-machine", "type=pc,accel=kvm"), 0);
	CHECK_STR(c.machine, "pc");
	CHECK_EQ(PARSE(&c, err, "-machine", "pc-q35-7.2"), 0);
	CHECK_STR(c.machine, "pc-q35");
	CHECK_EQ(PARSE(&c, err, "-machine", "virt"), -EINVAL);
	CHECK_STR(err, "-machine: unsupported machine type 'virt' (pc, q35, microvm)");
	CHECK_EQ(PARSE(&c, err, "-accel", "tcg"), -EINVAL);
	CHECK_STR(err, "-accel: unsupported accelerator 'tcg' (only 'kvm')");
	CHECK_EQ(PARSE(&c, err, "-display", "gtk"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-kernel", ""), -EINVAL);
	CHECK_STR(err, "-kernel: empty argument");
	CHECK_EQ(PARSE(&c, err, "-append", ""), 0);
	CHECK_STR(c.append, "");
	CHECK_EQ(PARSE(&c, err, "-h"), 0);
	CHECK_EQ(c.help, 1);
	CHECK_EQ(PARSE(&c, err, "--help"), 0);
	CHECK_EQ(c.help, 1);
	CHECK_EQ(PARSE(&c, err, "-version"), 0);
	CHECK_EQ(c.version, 1);
	CHECK(strstr(cli_usage(), "-serial") != NULL);
}

static void test_serial(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-serial", "stdio"), 0);
	CHECK_EQ(c.serial, SERIAL_STDIO);
	CHECK_EQ(c.serial_set, 1);
	CHECK_EQ(PARSE(&c, err, "-serial", "null"), 0);
	CHECK_EQ(c.serial, SERIAL_NULL);
	CHECK_EQ(PARSE(&c, err, "-serial", "none"), 0);
	CHECK_EQ(c.serial, SERIAL_NONE);
	CHECK_EQ(PARSE(&c, err, "-serial", "file:/tmp/out.txt"), 0);
	CHECK_EQ(c.serial, SERIAL_FILE);
	CHECK_STR(c.serial_path, "/tmp/out.txt");
	CHECK_EQ(PARSE(&c, err, "-serial", "unix:/tmp/s.sock,server,nowait"), 0);
	CHECK_EQ(c.serial, SERIAL_UNIX);
	CHECK_STR(c.serial_path, "/tmp/s.sock");
	CHECK_EQ(PARSE(&c, err, "-serial", "unix:/tmp/t.sock,server=on,wait=off"), 0);
	CHECK_STR(c.serial_path, "/tmp/t.sock");
	CHECK_EQ(PARSE(&c, err, "-serial", "unix:/tmp/s.sock"), -EINVAL);
	CHECK_STR(err, "-serial: unix socket needs ',server,nowait': 'unix:/tmp/s.sock'");
	CHECK_EQ(PARSE(&c, err, "-serial", "unix:/tmp/s.sock,server,bogus"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-serial", "file:"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-serial", "pty"), 0);
	CHECK_EQ(c.serial, SERIAL_PTY);
	CHECK_EQ(PARSE(&c, err, "-serial", "tcp::4444"), -EINVAL);
	CHECK_STR(err, "-serial: unsupported backend 'tcp::4444' (stdio, file:PATH, unix:PATH,server,nowait, pty, null, none)");
}

static void test_device(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-device", "isa-debug-exit"), 0);
	CHECK_EQ(c.debug_exit, 1);
	CHECK_EQ(c.debug_exit_iobase, 0xf4);
	CHECK_EQ(c.debug_exit_iosize, 4);
	CHECK_EQ(PARSE(&c, err, "-device", "isa-debug-exit,iobase=0x501,iosize=2"), 0);
	CHECK_EQ(c.debug_exit_iobase, 0x501);
	CHECK_EQ(c.debug_exit_iosize, 2);
	CHECK_EQ(PARSE(&c, err, "-device", "isa-debug-exit,iobase=0x10000"), -EINVAL);
	CHECK_STR(err, "-device: isa-debug-exit: invalid iobase '0x10000'");
	CHECK_EQ(PARSE(&c, err, "-device", "isa-debug-exit,iosize=3"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-device", "isa-debug-exit,color=red"), -EINVAL);
	CHECK_STR(err, "-device: isa-debug-exit: unknown property 'color'");
	CHECK_EQ(PARSE(&c, err, "-device", "e1000"), -EINVAL);
	CHECK_STR(err, "-device: unknown device 'e1000'");
	CHECK_EQ(PARSE(&c, err, "-device", "isa-debug-exitX"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-rng-pci", "-device", "virtio-rng-pci,disable-legacy=on,id=r1"), 0);
	CHECK_EQ(c.virtio_rng, 2);
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-rng-pci,disable-legacy=off"), -EINVAL);
	CHECK_STR(err, "-device: unsupported property 'disable-legacy=off'");
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-rng-pci", "-device", "virtio-rng-pci", "-device", "virtio-rng-pci",
		       "-device", "virtio-rng-pci", "-device", "virtio-rng-pci"), -EINVAL);
	CHECK_STR(err, "-device: at most 4 virtio-rng-pci devices");
}

static void test_drives(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-hda", "disk.qcow2", "-hdb", "b,c.img"), 0);
	CHECK_EQ(c.ndrives, 2);
	CHECK_EQ(c.nblk, 2);
	CHECK_STR(c.drives[0].file, "disk.qcow2");
	CHECK_STR(c.drives[0].opt, "-hda");
	CHECK(c.drives[0].format == NULL);          /* probed */
	CHECK_EQ(c.drives[0].iface, CLI_IF_VIRTIO);
	CHECK_STR(c.drives[1].file, "b,c.img");     /* -hdb takes the name verbatim */
	CHECK_EQ(c.blk[1].drive, 1);

	CHECK_EQ(PARSE(&c, err, "-drive", "file=a.img,format=raw,if=virtio,cache=none,readonly=on,serial=SN1"), 0);
	CHECK_EQ(c.ndrives, 1);
	CHECK_EQ(c.nblk, 1);
	CHECK_STR(c.drives[0].format, "raw");
	CHECK_EQ(c.drives[0].cache, CLI_CACHE_NONE);
	CHECK_EQ(c.drives[0].read_only, 1);
	CHECK_STR(c.drives[0].serial, "SN1");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=x,,y.img,cache=unsafe"), 0);   /* ",," is a comma */
	CHECK_STR(c.drives[0].file, "x,y.img");
	CHECK_EQ(c.drives[0].cache, CLI_CACHE_UNSAFE);

	/* if=none + -device, in either order */
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-blk-pci,drive=d0,serial=S2,num-queues=4,queue-size=128",
		       "-drive", "file=a.qcow2,if=none,id=d0,format=qcow2"), 0);
	CHECK_EQ(c.nblk, 1);
	CHECK_EQ(c.blk[0].drive, 0);
	CHECK_STR(c.blk[0].serial, "S2");
	CHECK_EQ(c.blk[0].num_queues, 4);
	CHECK_EQ(c.blk[0].queue_size, 128);
	CHECK_EQ(c.drives[0].users, 1);
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,if=none,id=d0"), 0);
	CHECK_EQ(c.nblk, 0);                          /* an unused if=none drive is allowed */

	CHECK_EQ(PARSE(&c, err, "-cdrom", "x.iso"), 0);
	CHECK_EQ(c.drives[0].media, CLI_MEDIA_CDROM);
	CHECK_STR(c.drives[0].opt, "-cdrom");
	CHECK_EQ(c.nblk, 0);

	CHECK_EQ(PARSE(&c, err, "-drive", "if=virtio"), -EINVAL);
	CHECK_STR(err, "-drive: file= is required");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,format=vmdk"), -EINVAL);
	CHECK_STR(err, "-drive: unsupported format 'vmdk' (raw, qcow2)");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,if=scsi"), -EINVAL);
	CHECK_STR(err, "-drive: unsupported interface 'if=scsi' (virtio, none)");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,cache=fast"), -EINVAL);
	CHECK(strstr(err, "-drive: invalid cache mode 'fast'") == err);
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,readonly=maybe"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-drive", "a.img"), -EINVAL);
	CHECK_STR(err, "-drive: 'a.img' needs a value (a.img=...)");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,colour=red"), -EINVAL);
	CHECK_STR(err, "-drive: unsupported property 'colour'");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,id=x,if=none", "-drive", "file=b,id=x,if=none"), -EINVAL);
	CHECK_STR(err, "-drive: duplicate drive id 'x'");
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-blk-pci,drive=nope"), -EINVAL);
	CHECK_STR(err, "-device virtio-blk-pci: drive 'nope' not found");
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-blk-pci"), -EINVAL);
	CHECK_STR(err, "-device: virtio-blk-pci: drive= is required");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,id=v", "-device", "virtio-blk-pci,drive=v"), -EINVAL);
	CHECK_STR(err, "-device virtio-blk-pci: drive 'v' is already in use");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,id=v,if=none", "-device", "virtio-blk-pci,drive=v",
		       "-device", "virtio-blk-pci,drive=v"), -EINVAL);
	CHECK_STR(err, "-device virtio-blk-pci: drive 'v' is already in use");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,id=v,if=none", "-device", "virtio-blk-pci,drive=v,queue-size=100"), -EINVAL);
	CHECK_STR(err, "-device: virtio-blk-pci: invalid queue-size '100' (a power of 2, 2..1024)");
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,id=v,if=none", "-device", "virtio-blk-pci,drive=v,num-queues=0"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-hda", ""), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-hda", "1", "-hda", "2", "-hda", "3", "-hda", "4", "-hda", "5",
		       "-hda", "6", "-hda", "7", "-hda", "8", "-hda", "9"), -EINVAL);
	CHECK_STR(err, "-hda: at most 8 drives");
}

/* -snapshot and -drive snapshot=on|off (QEMU's semantics): the drive's own
 * value wins over the global flag; read-only drives and CDs never get an
 * overlay, whatever was asked. */
static void test_snapshot(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-hda", "a.qcow2"), 0);
	CHECK_EQ(c.snapshot, 0);
	CHECK_EQ(c.drives[0].snapshot, 0);          /* default: writes reach the image */

	CHECK_EQ(PARSE(&c, err, "-snapshot", "-hda", "a.qcow2", "-hdb", "b.img", "-cdrom", "x.iso",
		       "-drive", "file=ro.img,readonly=on", "-drive", "file=own.img,snapshot=off",
		       "-drive", "file=n.img,if=none,id=n"), 0);
	CHECK_EQ(c.snapshot, 1);
	CHECK_EQ(c.ndrives, 6);
	CHECK_EQ(c.drives[0].snapshot, 1);          /* -hda */
	CHECK_EQ(c.drives[1].snapshot, 1);          /* -hdb */
	CHECK_EQ(c.drives[2].snapshot, 0);          /* -cdrom: read-only medium */
	CHECK_EQ(c.drives[3].snapshot, 0);          /* readonly=on */
	CHECK_EQ(c.drives[4].snapshot, 0);          /* snapshot=off wins */
	CHECK_EQ(c.drives[5].snapshot, 1);          /* if=none back-ends too */

	/* The global flag may come after the drives (QEMU applies it to all). */
	CHECK_EQ(PARSE(&c, err, "-hda", "a.qcow2", "--snapshot"), 0);
	CHECK_EQ(c.drives[0].snapshot, 1);

	/* Per drive, without the global flag; bare "snapshot" means on. */
	CHECK_EQ(PARSE(&c, err, "-drive", "file=a.img,snapshot=on", "-drive", "file=b.img,snapshot",
		       "-drive", "file=c.img,snapshot=off", "-hda", "d.img",
		       "-drive", "file=e.img,snapshot=on,readonly=on",
		       "-drive", "file=f.iso,media=cdrom,snapshot=on"), 0);
	CHECK_EQ(c.snapshot, 0);
	CHECK_EQ(c.drives[0].snapshot, 1);
	CHECK_EQ(c.drives[1].snapshot, 1);
	CHECK_EQ(c.drives[2].snapshot, 0);
	CHECK_EQ(c.drives[3].snapshot, 0);
	CHECK_EQ(c.drives[4].snapshot, 0);          /* readonly=on: nothing to redirect */
	CHECK_EQ(c.drives[4].read_only, 1);
	CHECK_EQ(c.drives[5].snapshot, 0);
	CHECK_EQ(PARSE(&c, err, "-drive", "file=e.img,readonly=off,snapshot=yes"), 0);
	CHECK_EQ(c.drives[0].snapshot, 1);

	CHECK_EQ(PARSE(&c, err, "-drive", "file=a,snapshot=maybe"), -EINVAL);
	CHECK_STR(err, "-drive: invalid snapshot value 'maybe' (on, off)");
	CHECK_EQ(PARSE(&c, err, "-snapshot=on"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "--snapshot=on"), -EINVAL);
	CHECK_STR(err, "-snapshot: takes no argument");
	CHECK(strstr(cli_usage(), "  -snapshot ") != NULL);
	CHECK(strstr(cli_usage(), "snapshot=on|off") != NULL);
}

static void test_net(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
		       "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:ab:cd:ef"), 0);
	CHECK_EQ(c.nnetdevs, 1);
	CHECK_EQ(c.nnics, 1);
	CHECK_STR(c.netdevs[0].id, "n0");
	CHECK_STR(c.netdevs[0].ifname, "tap0");
	CHECK_EQ(c.netdevs[0].queues, 1);
	CHECK_EQ(c.nics[0].netdev, 0);
	CHECK_EQ(c.nics[0].has_mac, 1);
	CHECK_EQ(c.nics[0].mac[0], 0x52);
	CHECK_EQ(c.nics[0].mac[5], 0xef);
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-net-pci,netdev=n0,mq=on",
		       "-netdev", "tap,id=n0,ifname=tap0,queues=4"), 0);
	CHECK_EQ(c.netdevs[0].queues, 4);
	CHECK_EQ(c.nics[0].mq, 1);
	CHECK_EQ(c.nics[0].has_mac, 0);

	CHECK_EQ(PARSE(&c, err, "-nic", "tap,ifname=tap1,model=virtio-net-pci,mac=02:00:00:00:00:01"), 0);
	CHECK_EQ(c.nnetdevs, 1);
	CHECK_EQ(c.nnics, 1);
	CHECK_STR(c.netdevs[0].ifname, "tap1");
	CHECK_EQ(c.nics[0].mac[0], 0x02);
	CHECK_EQ(c.nics[0].mac[5], 0x01);
	CHECK_EQ(PARSE(&c, err, "-nic", "none"), 0);
	CHECK_EQ(c.nnics, 0);

	CHECK_EQ(PARSE(&c, err, "-netdev", "user,id=n0"), -EINVAL);
	CHECK_STR(err, "-netdev: unsupported network backend 'user' (only 'tap')");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,ifname=tap0"), -EINVAL);
	CHECK_STR(err, "-netdev: id= is required");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0,script=/etc/qemu-ifup"), -EINVAL);
	CHECK(strstr(err, "-netdev: script=/etc/qemu-ifup: vmm runs no scripts") == err);
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0,queues=17"), -EINVAL);
	CHECK_STR(err, "-netdev: invalid queues '17' (1..16)");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0,vhost=on"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0", "-netdev", "tap,id=n0"), -EINVAL);
	CHECK_STR(err, "-netdev: duplicate netdev id 'n0'");
	CHECK_EQ(PARSE(&c, err, "-device", "virtio-net-pci,netdev=zz"), -EINVAL);
	CHECK_STR(err, "-device virtio-net-pci: netdev 'zz' not found");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0,queues=2", "-device", "virtio-net-pci,netdev=n0"), -EINVAL);
	CHECK_STR(err, "-device virtio-net-pci: netdev 'n0' has 2 queues: add mq=on");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0", "-device", "virtio-net-pci,netdev=n0",
		       "-device", "virtio-net-pci,netdev=n0"), -EINVAL);
	CHECK_STR(err, "-device virtio-net-pci: netdev 'n0' is already in use");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=01:00:00:00:00:01"), -EINVAL);
	CHECK_STR(err, "-device: virtio-net-pci: invalid MAC address '01:00:00:00:00:01'");
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:5g"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-nic", "tap,model=e1000"), -EINVAL);
	CHECK_STR(err, "-nic: unsupported model 'e1000' (virtio-net-pci)");
	CHECK_EQ(PARSE(&c, err, "-nic", "user"), -EINVAL);
	CHECK_EQ(PARSE(&c, err, "-netdev", "tap,id=n0,ifname=0123456789abcdef"), -EINVAL);
}

static void test_boot(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-boot", "order=nc,menu=on"), 0);
	CHECK_STR(c.boot_order, "nc");
	CHECK_EQ(c.boot_menu, 1);
	CHECK_EQ(PARSE(&c, err, "-boot", "d"), 0);
	CHECK_STR(c.boot_order, "d");
	CHECK_EQ(c.boot_menu, 0);
	CHECK_EQ(PARSE(&c, err, "-boot", "order=x"), -EINVAL);
	CHECK_STR(err, "-boot: invalid boot order 'x' (letters a, b, c, d, n-p)");
	CHECK_EQ(PARSE(&c, err, "-boot", "menu=maybe"), -EINVAL);
	CHECK_STR(err, "-boot: invalid menu value 'maybe' (on, off)");
	CHECK_EQ(PARSE(&c, err, "-boot", "order=c,kitten=1"), -EINVAL);
	CHECK_STR(err, "-boot: unsupported property 'kitten'");
}

static void test_unknown(void)
{
	struct vmm_config c;
	char err[256] = "";
	CHECK_EQ(PARSE(&c, err, "-frobnicate"), -EINVAL);
	CHECK_STR(err, "-frobnicate: unknown option");
	CHECK_EQ(PARSE(&c, err, "--frobnicate"), -EINVAL);
	CHECK_STR(err, "--frobnicate: unknown option");
	CHECK_EQ(PARSE(&c, err, "kernel.elf"), -EINVAL);
	CHECK_STR(err, "unexpected argument 'kernel.elf'");
	CHECK_EQ(PARSE(&c, err, "-nographic=1"), -EINVAL);   /* single dash: no '=' form */
	CHECK_EQ(PARSE(&c, err, "--nographic=1"), -EINVAL);
	CHECK_STR(err, "-nographic: takes no argument");
	CHECK_EQ(PARSE(&c, err, "-"), -EINVAL);
	/* no newline, one line */
	CHECK(strchr(err, '\n') == NULL);
}

int main(void)
{
	test_defaults();
	test_sizes();
	test_m();
	test_smp_cpu();
	test_files_and_flags();
	test_serial();
	test_device();
	test_drives();
	test_snapshot();
	test_net();
	test_boot();
	test_unknown();
	return check_done();
}
