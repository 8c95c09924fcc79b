/* Command line: QEMU-style options (single or double dash) parsed into a
 * struct vmm_config, with one table row per option so new options are one
 * line plus a handler. Pure parsing, no side effects: unit-tested in
 * tests/test_cli.c. Option semantics follow qemu-system-x86_64(1). */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/cpuid.h"

enum serial_backend {
	SERIAL_STDIO,
	SERIAL_FILE,     /* file:PATH, output only */
	SERIAL_UNIX,     /* unix:PATH,server,nowait */
	SERIAL_NULL,     /* null: output dropped, no input */
	SERIAL_NONE,     /* none: no COM1 device at all */
	SERIAL_PTY,      /* pty: a new pseudo-terminal, its path printed */
};

/* Block and network back-ends and the virtio functions on them. Strings
 * point into argv or into vmm_config.strings (values with ",," escapes). */
enum cli_drive_if { CLI_IF_VIRTIO, CLI_IF_NONE };
enum cli_media { CLI_MEDIA_DISK, CLI_MEDIA_CDROM };
enum cli_cache {
	CLI_CACHE_WRITEBACK,    /* default: host page cache, guest flushes honoured */
	CLI_CACHE_WRITETHROUGH, /* treated as writeback: virtio-blk flushes anyway */
	CLI_CACHE_NONE,         /* O_DIRECT */
	CLI_CACHE_DIRECTSYNC,   /* O_DIRECT (as none; flushes honoured) */
	CLI_CACHE_UNSAFE,       /* flushes ignored */
};

struct cli_drive {                /* -drive, -hda..-hdd, -cdrom */
	const char *opt;            /* option that made it, for messages */
	const char *file, *format, *id, *serial;
	enum cli_drive_if iface;
	enum cli_media media;
	enum cli_cache cache;
	int read_only;
	/* snapshot=on|off (-1 before cli_parse ends: not given). After
	 * cli_parse: 1 when writes go to a temporary overlay (per-drive value,
	 * else the global -snapshot), always 0 for read-only drives and CDs. */
	int snapshot;
	int users;                  /* virtio-blk functions using it (0 or 1) */
};

struct cli_blk {                  /* a virtio-blk-pci function */
	unsigned drive;             /* index into drives[] */
	const char *drive_ref;      /* -device ...,drive=ID before resolution */
	const char *serial;         /* NULL: the drive's serial= */
	unsigned num_queues;        /* 0: 1 */
	unsigned queue_size;        /* 0: device default (256) */
};

struct cli_netdev {               /* -netdev tap / -nic tap */
	const char *id, *ifname;    /* ifname NULL: the kernel names a new tap */
	unsigned queues;            /* queue pairs, 1..CLI_MAX_NET_QUEUES */
	int users;
};

struct cli_nic {                  /* a virtio-net-pci function */
	unsigned netdev;            /* index into netdevs[] */
	const char *netdev_ref;     /* before resolution */
	uint8_t mac[6];
	int has_mac;                /* 0: 52:54:00:12:34:56 + index */
	int mq;                     /* mq=on */
};

#define CLI_MAX_DRIVES 8
#define CLI_MAX_BLK 8
#define CLI_MAX_NETDEVS 4
#define CLI_MAX_NICS 4
#define CLI_MAX_NET_QUEUES 16
#define CLI_MAX_BLK_QUEUES 16
#define CLI_STRINGS_SIZE 8192
#define CLI_MAX_QMP 8
#define CLI_MAX_CHARDEVS 8
#define CLI_DEFAULT_SHUTDOWN_TIMEOUT 30

struct vmm_config {
	uint64_t ram_size;          /* -m, bytes (default 128 MiB) */
	unsigned ncpus;             /* -smp (default 1) */
	enum cpu_model cpu_model;   /* -cpu (default host) */
	const char *cpu_name;
	const char *kernel, *initrd, *append, *bios;
	int kernel_from_iso;        /* -kernel-from-iso: boot the CD's default isolinux/grub entry */
	const char *name;           /* -name */
	const char *machine;        /* -machine/-M type: pc, q35, microvm */
	enum serial_backend serial;
	const char *serial_path;    /* SERIAL_FILE (into argv) / SERIAL_UNIX (serial_path_buf) */
	char serial_path_buf[256];
	int serial_set;             /* -serial given */
	const char *debugcon_path;  /* -debugcon file:PATH: isa-debugcon on port 0x402 (NULL: none) */
	int nographic, display_none, no_reboot;
	int debug_exit;             /* -device isa-debug-exit given */
	uint16_t debug_exit_iobase, debug_exit_iosize;
	unsigned virtio_rng;        /* -device virtio-rng-pci count */
	int help, version;          /* -h/-help/--help, -version */
	char boot_order[16];        /* -boot order=: drive letters c, d, n ("" = firmware default) */
	int boot_menu;              /* -boot menu=on */
	int snapshot;               /* -snapshot: every writable disk on a temporary overlay */
	struct cli_drive drives[CLI_MAX_DRIVES];
	unsigned ndrives;
	struct cli_blk blk[CLI_MAX_BLK];
	unsigned nblk;
	struct cli_netdev netdevs[CLI_MAX_NETDEVS];
	unsigned nnetdevs;
	struct cli_nic nics[CLI_MAX_NICS];
	unsigned nnics;
	/* Headless servers (vmm/cli_server.c; docs/usage.md "Headless servers"). */
	int daemonize, no_shutdown, nodefaults;
	int start_paused;           /* -S: vCPUs wait for QMP cont */
	const char *pidfile;
	const char *log_file;       /* -D */
	int log_level;              /* -d: enum vmm_log_level (0 error .. 3 debug), default 2 */
	int log_timestamps;         /* -msg timestamp=on */
	unsigned shutdown_timeout;  /* seconds SIGTERM waits for the guest (0: forever) */
	const char *qmp_paths[CLI_MAX_QMP];  /* -qmp and -mon sockets */
	unsigned nqmp;
	struct cli_chardev { const char *id, *path; int used; } chardevs[CLI_MAX_CHARDEVS];
	unsigned nchardevs;
	const char *mon_refs[CLI_MAX_QMP];
	unsigned nmon;
	/* Sandboxing (vmm/sandbox.h, vmm/privileges.h; docs/security.md). */
	int sandbox;                /* -sandbox: 0 off, 1 on (kill), 2 on,action=log */
	const char *runas;          /* -runas USER */
	const char *chroot_dir;     /* -chroot DIR */
	char strings[CLI_STRINGS_SIZE];  /* copies of parsed property values */
	size_t strings_used;
};

#define CLI_DEFAULT_RAM (128ULL << 20)
/* -sandbox on unless -sandbox off (docs/security.md), ASan builds too (their
 * lists add what LeakSanitizer's exit-time check needs, vmm/sandbox.c).
 * -DCLI_DEFAULT_SANDBOX=0|1 overrides. */
#ifndef CLI_DEFAULT_SANDBOX
#define CLI_DEFAULT_SANDBOX 1
#endif
#define CLI_MAX_CPUS 64
#define CLI_MAX_VIRTIO_RNG 4

/* Parses argv[1..argc-1] into *cfg (which it initialises with defaults).
 * Returns 0, or -EINVAL with exactly one line (no "vmm: " prefix, no
 * newline) naming the option and value in err, e.g. "-m: invalid size 'abc'". */
int cli_parse(struct vmm_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* Parses a size with optional K/M/G/T suffix (default unit MiB, as QEMU's -m).
 * 0 or -EINVAL. */
int cli_parse_size(const char *s, uint64_t *out);

/* The -help text. */
const char *cli_usage(void);

#endif
