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
};

struct vmm_config {
	uint64_t ram_size;          /* -m, bytes (default 128 MiB) */
	unsigned ncpus;             /* -smp (default 1) */
	enum cpu_model cpu_model;   /* -cpu (default host) */
	const char *cpu_name;
	const char *kernel, *initrd, *append, *bios;
	const char *name;           /* -name */
	const char *machine;        /* -machine/-M type: pc, q35, microvm */
	enum serial_backend serial;
	const char *serial_path;    /* SERIAL_FILE (into argv) / SERIAL_UNIX (serial_path_buf) */
	char serial_path_buf[256];
	int serial_set;             /* -serial given */
	int nographic, display_none, no_reboot;
	int debug_exit;             /* -device isa-debug-exit given */
	uint16_t debug_exit_iobase, debug_exit_iosize;
	unsigned virtio_rng;        /* -device virtio-rng-pci count */
	int help, version;          /* -h/-help/--help, -version */
};

#define CLI_DEFAULT_RAM (128ULL << 20)
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
