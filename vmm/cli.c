/* QEMU-compatible option parsing (qemu-system-x86_64(1), "Standard options",
 * "Character device options", "Debug/Expert options"). An option is a row in
 * `options[]`: name, whether it takes an argument, and a handler; -device
 * drivers are rows in `devices[]`. Errors are one line naming option+value. */
#include "vmm/cli.h"
#include "vmm/cli_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	unsigned shift = 20;            /* plain numbers are MiB, as in QEMU */
	switch (*end) {
	case '\0': break;
	case 'b': case 'B': shift = 0; end++; break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (shift && (*end == 'i' || *end == 'I'))   /* accept "512MiB" */
		end++;
	if (shift && (*end == 'b' || *end == 'B'))   /* and "512MB" */
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* QEMU's option syntax (docs/system/invocation: ",," is a literal comma
 * inside a value, so file names may contain commas). */
int cli_for_each_prop(struct vmm_config *cfg, const char *opt, const char *arg,
		      const char *first_key, prop_fn fn, char *err, size_t errlen)
{
	char buf[1024];
	if (strlen(arg) >= sizeof(buf))
		return cli_fail(err, errlen, "%s: argument too long", opt);
	int first = 1;
	const char *p = arg;
	while (*p) {
		size_t n = 0;
		while (*p && !(p[0] == ',' && p[1] != ',')) {
			if (p[0] == ',')        /* ",," */
				p++;
			buf[n++] = *p++;
		}
		buf[n] = '\0';
		if (*p == ',')
			p++;
		if (n == 0)
			continue;
		char *eq = strchr(buf, '=');
		int ret;
		if (eq) {
			*eq = '\0';
			ret = fn(cfg, opt, buf, eq + 1, err, errlen);
		} else if (first && first_key) {
			ret = fn(cfg, opt, first_key, buf, err, errlen);
		} else {
			ret = fn(cfg, opt, buf, NULL, err, errlen);
		}
		if (ret < 0)
			return ret;
		first = 0;
	}
	if (first)
		return cli_fail(err, errlen, "%s: empty argument", opt);
	return 0;
}

const char *cli_save_string(struct vmm_config *cfg, const char *s)
{
	size_t len = strlen(s) + 1;
	if (len > sizeof(cfg->strings) - cfg->strings_used)
		return NULL;
	char *d = cfg->strings + cfg->strings_used;
	memcpy(d, s, len);
	cfg->strings_used += len;
	return d;
}

/* ---- option handlers ---------------------------------------------------- */

static int m_prop(struct vmm_config *cfg, const char *opt, const char *key,
		  const char *val, char *err, size_t errlen)
{
	if (strcmp(key, "size") == 0) {
		uint64_t sz;
		if (!val || cli_parse_size(val, &sz) < 0 || sz == 0)
			return cli_fail(err, errlen, "%s: invalid size '%s'", opt, val ? val : "");
		cfg->ram_size = sz;
		return 0;
	}
	if (strcmp(key, "slots") == 0 || strcmp(key, "maxmem") == 0)
		return 0;       /* memory hotplug parameters: accepted, unused */
	return cli_fail(err, errlen, "%s: invalid size '%s'", opt, key);
}

static int opt_m(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	return cli_for_each_prop(cfg, opt, arg, "size", m_prop, err, errlen);
}

static int smp_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	unsigned long long n;
	if (!val || cli_parse_uint(val, CLI_MAX_CPUS, &n) < 0 || n == 0)
		return cli_fail(err, errlen, "%s: invalid CPU count '%s' (1..%d)", opt, val ? val : key, CLI_MAX_CPUS);
	if (strcmp(key, "cpus") == 0 || strcmp(key, "maxcpus") == 0) {
		if (strcmp(key, "cpus") == 0)
			cfg->ncpus = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "sockets") == 0 || strcmp(key, "cores") == 0 || strcmp(key, "threads") == 0)
		return 0;       /* topology hints: we expose cores of one socket */
	return cli_fail(err, errlen, "%s: unknown property '%s'", opt, key);
}

static int opt_smp(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	return cli_for_each_prop(cfg, opt, arg, "cpus", smp_prop, err, errlen);
}

static int opt_cpu(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	/* QEMU allows "model,+feat,-feat"; we know models only. */
	if (cpuid_model_parse(arg, &cfg->cpu_model) < 0)
		return cli_fail(err, errlen, "%s: unknown CPU model '%s' (known: %s)", opt, arg, cpuid_model_names());
	cfg->cpu_name = arg;
	return 0;
}

#define STRING_OPT(fn, field) \
	static int fn(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen) \
	{ \
		if (!*arg) \
			return cli_fail(err, errlen, "%s: empty argument", opt); \
		cfg->field = arg; \
		return 0; \
	}
STRING_OPT(opt_kernel, kernel)
STRING_OPT(opt_initrd, initrd)
STRING_OPT(opt_bios, bios)
STRING_OPT(opt_name, name)

/* Options that only set their field: to the argument, empty or not (checked
 * where it is used), or, for flags, to 1. */
#define ANY_STRING_OPT(fn, field) \
	static int fn(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen) \
	{ \
		cfg->field = arg; \
		return 0; \
	}
#define FLAG_OPT(fn, field) \
	static int fn(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen) \
	{ \
		cfg->field = 1; \
		return 0; \
	}
ANY_STRING_OPT(opt_append, append)
ANY_STRING_OPT(opt_runas, runas)
ANY_STRING_OPT(opt_chroot, chroot_dir)
FLAG_OPT(flag_nographic, nographic)
FLAG_OPT(flag_kernel_from_iso, kernel_from_iso)
FLAG_OPT(flag_no_reboot, no_reboot)
FLAG_OPT(flag_help, help)
FLAG_OPT(flag_version, version)

static int opt_serial(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	cfg->serial_set = 1;
	cfg->serial_path = NULL;
	if (strcmp(arg, "stdio") == 0 || strcmp(arg, "mon:stdio") == 0) {
		cfg->serial = SERIAL_STDIO;
	} else if (strcmp(arg, "null") == 0) {
		cfg->serial = SERIAL_NULL;
	} else if (strcmp(arg, "none") == 0) {
		cfg->serial = SERIAL_NONE;
	} else if (strcmp(arg, "pty") == 0) {
		cfg->serial = SERIAL_PTY;
	} else if (strncmp(arg, "file:", 5) == 0 && arg[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = arg + 5;
	} else if (strncmp(arg, "unix:", 5) == 0 && arg[5] && arg[5] != ',') {
		/* unix:PATH,server,nowait (also server=on,wait=off) */
		const char *p = arg + 5, *comma = strchr(p, ',');
		if (!comma)
			return cli_fail(err, errlen, "%s: unix socket needs ',server,nowait': '%s'", opt, arg);
		int server = 0, nowait = 0;
		for (const char *o = comma; o && *o; ) {
			o++;
			const char *next = strchr(o, ',');
			size_t len = next ? (size_t)(next - o) : strlen(o);
			if ((len == 6 && !strncmp(o, "server", 6)) || (len == 9 && !strncmp(o, "server=on", 9)))
				server = 1;
			else if ((len == 6 && !strncmp(o, "nowait", 6)) || (len == 8 && !strncmp(o, "wait=off", 8)))
				nowait = 1;
			else
				return cli_fail(err, errlen, "%s: unsupported unix socket option in '%s'", opt, arg);
			o = next;
		}
		if (!server || !nowait)
			return cli_fail(err, errlen, "%s: unix socket needs ',server,nowait': '%s'", opt, arg);
		size_t plen = (size_t)(comma - p);
		if (plen >= sizeof(cfg->serial_path_buf))
			return cli_fail(err, errlen, "%s: path too long in '%s'", opt, arg);
		memcpy(cfg->serial_path_buf, p, plen);
		cfg->serial_path_buf[plen] = '\0';
		cfg->serial = SERIAL_UNIX;
		cfg->serial_path = cfg->serial_path_buf;
	} else {
		return cli_fail(err, errlen, "%s: unsupported backend '%s' (stdio, file:PATH, unix:PATH,server,nowait, pty, null, none)", opt, arg);
	}
	return 0;
}

static int opt_debugcon(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "none") == 0 || strcmp(arg, "null") == 0)
		cfg->debugcon_path = NULL;
	else if (strncmp(arg, "file:", 5) == 0 && arg[5])
		cfg->debugcon_path = arg + 5;
	else
		return cli_fail(err, errlen, "%s: unsupported backend '%s' (file:PATH, none)", opt, arg);
	return 0;
}

/* -sandbox on|off[,action=kill|log] (QEMU spells the switch on|off). */
static int opt_sandbox(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);

	if (n == 2 && strncmp(arg, "on", 2) == 0)
		cfg->sandbox = 1;
	else if (n == 3 && strncmp(arg, "off", 3) == 0)
		cfg->sandbox = 0;
	else {
		snprintf(err, errlen, "-sandbox: '%.*s': expected on or off", (int)n, arg);
		return -1;
	}
	if (comma) {
		if (strcmp(comma + 1, "action=kill") == 0)
			;
		else if (strcmp(comma + 1, "action=log") == 0)
			cfg->sandbox = cfg->sandbox ? 2 : 0;
		else {
			snprintf(err, errlen, "-sandbox: unknown property '%s' (action=kill|log)", comma + 1);
			return -1;
		}
	}
	return 0;
}

static int flag_snapshot(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	cfg->snapshot = 1;
	return 0;
}

static int flag_ignore(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	return 0;
}

static int opt_display(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "none") != 0)
		return cli_fail(err, errlen, "%s: unsupported display '%s' (only 'none': vmm is headless)", opt, arg);
	cfg->display_none = 1;
	return 0;
}

static int opt_accel(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "kvm") != 0 && strncmp(arg, "kvm,", 4) != 0)
		return cli_fail(err, errlen, "%s: unsupported accelerator '%s' (only 'kvm')", opt, arg);
	return 0;
}

static int opt_machine(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	static const char *const names[] = { "pc-i440fx", "pc-q35", "pc", "q35", "microvm", NULL };
	const char *type = arg;
	size_t len = strcspn(arg, ",");
	if (strncmp(arg, "type=", 5) == 0) {
		type = arg + 5;
		len = strcspn(type, ",");
	}
	for (unsigned i = 0; names[i]; i++) {
		size_t n = strlen(names[i]);
		/* accept versioned names such as pc-q35-7.2 and pc-i440fx-7.2 */
		if ((len == n || (len > n && type[n] == '-')) && strncmp(type, names[i], n) == 0) {
			cfg->machine = names[i];
			return 0;
		}
	}
	return cli_fail(err, errlen, "%s: unsupported machine type '%s' (pc, q35, microvm)", opt, arg);
}

/* -boot [order=]DRIVES[,once=DRIVES][,menu=on|off][,strict=..][,splash-time=..]:
 * a = floppy, c = first disk, d = CD-ROM, n = network (QEMU's letters). */
static int boot_prop(struct vmm_config *cfg, const char *opt, const char *key,
		     const char *val, char *err, size_t errlen)
{
	if (!val)
		return cli_fail(err, errlen, "%s: '%s' needs a value (%s=...)", opt, key, key);
	if (strcmp(key, "order") == 0 || strcmp(key, "once") == 0) {
		if (strlen(val) >= sizeof(cfg->boot_order) || strspn(val, "abcdnop") != strlen(val))
			return cli_fail(err, errlen, "%s: invalid boot order '%s' (letters a, b, c, d, n-p)", opt, val);
		strcpy(cfg->boot_order, val);
		return 0;
	}
	if (strcmp(key, "menu") == 0) {
		if (strcmp(val, "on") == 0)
			cfg->boot_menu = 1;
		else if (strcmp(val, "off") == 0)
			cfg->boot_menu = 0;
		else
			return cli_fail(err, errlen, "%s: invalid menu value '%s' (on, off)", opt, val);
		return 0;
	}
	if (strcmp(key, "strict") == 0 || strcmp(key, "splash") == 0 ||
	    strcmp(key, "splash-time") == 0 || strcmp(key, "reboot-timeout") == 0)
		return 0;
	return cli_fail(err, errlen, "%s: unsupported property '%s'", opt, key);
}

static int opt_boot(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	return cli_for_each_prop(cfg, opt, arg, "order", boot_prop, err, errlen);
}

/* ---- -device drivers ------------------------------------------------------ */

static int debug_exit_prop(struct vmm_config *cfg, const char *opt, const char *key,
			   const char *val, char *err, size_t errlen)
{
	unsigned long long v;
	if (strcmp(key, "iobase") == 0) {
		if (!val || cli_parse_uint(val, 0xffff, &v) < 0)
			return cli_fail(err, errlen, "%s: isa-debug-exit: invalid iobase '%s'", opt, val ? val : "");
		cfg->debug_exit_iobase = (uint16_t)v;
		return 0;
	}
	if (strcmp(key, "iosize") == 0) {
		if (!val || cli_parse_uint(val, 8, &v) < 0 || (v != 1 && v != 2 && v != 4))
			return cli_fail(err, errlen, "%s: isa-debug-exit: invalid iosize '%s' (1, 2 or 4)", opt, val ? val : "");
		cfg->debug_exit_iosize = (uint16_t)v;
		return 0;
	}
	if (strcmp(key, "isa-debug-exit") == 0 && !val)
		return 0;
	return cli_fail(err, errlen, "%s: isa-debug-exit: unknown property '%s'", opt, key);
}

static int dev_debug_exit(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	cfg->debug_exit = 1;
	return cli_for_each_prop(cfg, opt, arg, NULL, debug_exit_prop, err, errlen);
}

/* Properties every virtio-pci device accepts: QEMU's transport switches
 * (we are modern-only, so legacy must be off or absent) and id/addr/bus. */
int cli_virtio_pci_prop(struct vmm_config *cfg, const char *opt, const char *key,
			const char *val, char *err, size_t errlen)
{
	if (!val)
		return strncmp(key, "virtio-", 7) == 0 ? 0 :
		       cli_fail(err, errlen, "%s: unknown property '%s'", opt, key);
	if (strcmp(key, "disable-legacy") == 0 && (strcmp(val, "on") == 0 || strcmp(val, "auto") == 0))
		return 0;
	if (strcmp(key, "disable-modern") == 0 && strcmp(val, "off") == 0)
		return 0;
	if (strcmp(key, "id") == 0 || strcmp(key, "bus") == 0 || strcmp(key, "addr") == 0)
		return 0;
	return cli_fail(err, errlen, "%s: unsupported property '%s=%s'", opt, key, val);
}

static int dev_virtio_rng(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (cfg->virtio_rng >= CLI_MAX_VIRTIO_RNG)
		return cli_fail(err, errlen, "%s: at most %d virtio-rng-pci devices", opt, CLI_MAX_VIRTIO_RNG);
	int ret = cli_for_each_prop(cfg, opt, arg, NULL, cli_virtio_pci_prop, err, errlen);
	if (ret == 0)
		cfg->virtio_rng++;
	return ret;
}

/* -device DRIVER[,props]: one row per driver. */
static const struct {
	const char *driver;
	opt_fn fn;     /* gets the whole argument, driver name included */
} devices[] = {
	{ "isa-debug-exit", dev_debug_exit },
	{ "virtio-rng-pci", dev_virtio_rng },
	{ "virtio-blk-pci", cli_dev_virtio_blk },
	{ "virtio-net-pci", cli_dev_virtio_net },
};

static int opt_device(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	size_t len = strcspn(arg, ",");
	for (unsigned i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (strlen(devices[i].driver) == len && strncmp(arg, devices[i].driver, len) == 0)
			return devices[i].fn(cfg, opt, arg, err, errlen);
	return cli_fail(err, errlen, "%s: unknown device '%.*s'", opt, (int)len, arg);
}

/* ---- the option table ----------------------------------------------------- */

static const struct cli_option {
	const char *name;   /* without dashes */
	int has_arg;
	opt_fn fn;
	const char *help;   /* NULL: not listed */
} options[] = {
	{ "m", 1, opt_m, "-m SIZE[K|M|G]     guest RAM (default 128M; also size=SIZE)" },
	{ "smp", 1, opt_smp, "-smp N              number of vCPUs (also cpus=N,...; max 64)" },
	{ "cpu", 1, opt_cpu, "-cpu MODEL          host (default) or baseline (qemu64, kvm64)" },
	{ "kernel", 1, opt_kernel, "-kernel FILE        bzImage, ELF vmlinux (64-bit/PVH) or multiboot kernel" },
	{ "initrd", 1, opt_initrd, "-initrd FILE        initial ramdisk (multiboot: \"mod arg,mod2\" modules)" },
	{ "append", 1, opt_append, "-append CMDLINE     kernel command line" },
	{ "kernel-from-iso", 0, flag_kernel_from_iso, "-kernel-from-iso    boot the -cdrom ISO's default isolinux/grub entry directly (console=ttyS0 added)" },
	{ "bios", 1, opt_bios, "-bios FILE          firmware image (default: SeaBIOS when no -kernel)" },
	{ "boot", 1, opt_boot, "-boot [order=]cdn[,menu=on|off]  firmware boot order (c disk, d CD-ROM, n network)" },
	{ "serial", 1, opt_serial, "-serial DEV         stdio | file:PATH | unix:PATH,server,nowait | pty | null | none" },
	{ "debugcon", 1, opt_debugcon, "-debugcon file:PATH firmware debug output (port 0x402, SeaBIOS's log) to PATH" },
	{ "nographic", 0, flag_nographic, "-nographic          serial on stdio (the default: vmm is headless)" },
	{ "display", 1, opt_display, "-display none       accepted (no display)" },
	{ "no-reboot", 0, flag_no_reboot, "-no-reboot          exit (status 0) instead of resetting" },
	{ "drive", 1, cli_opt_drive, "-drive file=F[,if=virtio|none][,format=raw|qcow2][,id=ID][,cache=MODE][,readonly=on][,snapshot=on|off][,serial=S]" },
	{ "hda", 1, cli_opt_hdx, "-hda F, -hdb F        disk image as a virtio-blk disk (format probed)" },
	{ "hdb", 1, cli_opt_hdx, NULL },
	{ "hdc", 1, cli_opt_hdx, NULL },
	{ "hdd", 1, cli_opt_hdx, NULL },
	{ "cdrom", 1, cli_opt_cdrom, "-cdrom F             CD-ROM image" },
	{ "snapshot", 0, flag_snapshot, "-snapshot           writes to temporary overlays, never to the disk images (readonly and CD-ROM drives unaffected)" },
	{ "netdev", 1, cli_opt_netdev, "-netdev tap,id=ID,ifname=TAP[,script=no,downscript=no][,queues=N]" },
	{ "nic", 1, cli_opt_nic, "-nic tap,ifname=TAP[,model=virtio-net-pci][,mac=M] | none" },
	{ "device", 1, opt_device, "-device isa-debug-exit[,iobase=0xf4,iosize=4] | virtio-rng-pci\n"
				   "  -device virtio-blk-pci,drive=ID[,serial=S][,num-queues=N][,queue-size=N]\n"
				   "  -device virtio-net-pci,netdev=ID[,mac=52:54:00:..][,mq=on]" },
	{ "machine", 1, opt_machine, "-machine TYPE       pc, q35 or microvm (accepted)" },
	{ "M", 1, opt_machine, NULL },
	{ "enable-kvm", 0, flag_ignore, "-enable-kvm         accepted (always KVM)" },
	{ "accel", 1, opt_accel, "-accel kvm          accepted" },
	{ "name", 1, opt_name, "-name NAME          VM name" },
	{ "qmp", 1, cli_opt_qmp, "-qmp unix:PATH,server=on,wait=off  QMP control socket" },
	{ "chardev", 1, cli_opt_chardev, "-chardev socket,id=ID,path=PATH,server=on,wait=off" },
	{ "mon", 1, cli_opt_mon, "-mon chardev=ID,mode=control  QMP on that chardev" },
	{ "daemonize", 0, cli_opt_server_flag, "-daemonize          detach once the VM runs (exit status tells set-up errors)" },
	{ "pidfile", 1, cli_opt_pidfile, "-pidfile FILE       write and lock the pid, removed on exit" },
	{ "no-shutdown", 0, cli_opt_server_flag, "-no-shutdown        stay (status \"shutdown\") when the guest powers off" },
	{ "S", 0, cli_opt_server_flag, "-S                  do not start the CPUs (status \"prelaunch\" until QMP cont)" },
	{ "nodefaults", 0, cli_opt_server_flag, "-nodefaults         no default serial port" },
	{ "D", 1, cli_opt_logfile, "-D FILE             log (and all messages) to FILE" },
	{ "d", 1, cli_opt_loglevel, "-d LEVEL            log level: error, warn, info (default), debug" },
	{ "msg", 1, cli_opt_msg, "-msg timestamp=on   timestamps on log lines" },
	{ "shutdown-timeout", 1, cli_opt_shutdown_timeout, "-shutdown-timeout S seconds SIGTERM waits for the guest to power off (default 30, 0: forever)" },
	{ "sandbox", 1, opt_sandbox, "-sandbox on|off[,action=kill|log]  seccomp allow-lists per thread (docs/security.md)" },
	{ "runas", 1, opt_runas, "-runas USER         drop to USER's uid/gid after opening /dev/kvm, images and taps" },
	{ "chroot", 1, opt_chroot, "-chroot DIR         chroot to DIR after set-up (with -runas)" },
	{ "h", 0, flag_help, NULL },
	{ "help", 0, flag_help, "-h, -help           this text" },
	{ "version", 0, flag_version, "-version            print the version" },
};

const char *cli_usage(void)
{
	static char buf[8192];
	if (!buf[0]) {
		size_t off = (size_t)snprintf(buf, sizeof(buf),
			"usage: vmm [options]\nQEMU-style options (one or two dashes):\n");
		for (unsigned i = 0; i < sizeof(options) / sizeof(options[0]) && off < sizeof(buf); i++)
			if (options[i].help)
				off += (size_t)snprintf(buf + off, sizeof(buf) - off, "  %s\n", options[i].help);
	}
	return buf;
}

int cli_parse(struct vmm_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ram_size = CLI_DEFAULT_RAM;
	cfg->ncpus = 1;
	cfg->cpu_model = CPU_MODEL_HOST;
	cfg->cpu_name = "host";
	cfg->machine = "pc";
	cfg->serial = SERIAL_STDIO;
	cfg->debug_exit_iobase = 0xf4;
	cfg->debug_exit_iosize = 4;
	cfg->log_level = 2;
	cfg->shutdown_timeout = CLI_DEFAULT_SHUTDOWN_TIMEOUT;
	cfg->sandbox = CLI_DEFAULT_SANDBOX;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			return cli_fail(err, errlen, "unexpected argument '%s'", a);
		const char *name = a + 1 + (a[1] == '-');
		const char *inline_arg = NULL;
		char namebuf[64];
		/* --opt=value, as QEMU accepts for double-dash options */
		const char *eq = strchr(name, '=');
		if (a[1] == '-' && eq && (size_t)(eq - name) < sizeof(namebuf)) {
			memcpy(namebuf, name, (size_t)(eq - name));
			namebuf[eq - name] = '\0';
			name = namebuf;
			inline_arg = eq + 1;
		}
		const struct cli_option *o = NULL;
		for (unsigned k = 0; k < sizeof(options) / sizeof(options[0]); k++)
			if (strcmp(options[k].name, name) == 0) {
				o = &options[k];
				break;
			}
		if (!o)
			return cli_fail(err, errlen, "%s: unknown option", a);
		const char *arg = NULL;
		if (o->has_arg) {
			if (inline_arg) {
				arg = inline_arg;
			} else {
				if (i + 1 >= argc)
					return cli_fail(err, errlen, "-%s: requires an argument", o->name);
				arg = argv[++i];
			}
		} else if (inline_arg) {
			return cli_fail(err, errlen, "-%s: takes no argument", o->name);
		}
		char optname[72];
		snprintf(optname, sizeof(optname), "-%s", o->name);
		int ret = o->fn(cfg, optname, arg, err, errlen);
		if (ret < 0)
			return ret;
	}
	int ret = cli_resolve_server(cfg, err, errlen);
	return ret < 0 ? ret : cli_resolve_devices(cfg, err, errlen);
}
