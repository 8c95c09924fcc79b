/* Private to vmm/cli*.c: the helpers option handlers share (one-line
 * errors, numbers, QEMU "key=value,..." properties) and the storage/network
 * option handlers that live in cli_devices.c. */
#ifndef VMM_CLI_INTERNAL_H
#define VMM_CLI_INTERNAL_H

#include <stddef.h>

#include "vmm/cli.h"

typedef int (*opt_fn)(struct vmm_config *cfg, const char *opt, const char *arg,
		      char *err, size_t errlen);
typedef int (*prop_fn)(struct vmm_config *cfg, const char *opt, const char *key,
		       const char *val, char *err, size_t errlen);

/* Formats the one-line message into err; returns -EINVAL. */
int cli_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Decimal, 0x hex or 0 octal, <= max. 0 or -EINVAL. */
int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* Calls fn for each "key=value" (value NULL when bare) of arg; ",," is a
 * literal comma. A bare first element is keyed first_key when non-NULL
 * (QEMU's implied property: -m 512M, -netdev tap,...). Values are only
 * valid during the call: keep them with cli_save_string(). */
int cli_for_each_prop(struct vmm_config *cfg, const char *opt, const char *arg,
		      const char *first_key, prop_fn fn, char *err, size_t errlen);
/* A copy of s in cfg->strings, or NULL when the pool is full. */
const char *cli_save_string(struct vmm_config *cfg, const char *s);

/* Properties every virtio-pci device accepts (disable-legacy=on, id, bus,
 * addr, the bare driver name); an error for any other. */
int cli_virtio_pci_prop(struct vmm_config *cfg, const char *opt, const char *key,
			const char *val, char *err, size_t errlen);

/* cli_devices.c: option handlers and -device drivers. */
int cli_opt_drive(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_hdx(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_cdrom(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_netdev(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_nic(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_dev_virtio_blk(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_dev_virtio_net(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
/* cli_server.c: headless server options. */
int cli_opt_qmp(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_chardev(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_mon(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_server_flag(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_pidfile(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_logfile(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_loglevel(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_msg(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
int cli_opt_shutdown_timeout(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen);
/* After all options: -mon to -chardev, daemon/serial defaults. 0 or -EINVAL. */
int cli_resolve_server(struct vmm_config *cfg, char *err, size_t errlen);
/* After all options: binds -device drive=/netdev= references. 0 or -EINVAL. */
int cli_resolve_devices(struct vmm_config *cfg, char *err, size_t errlen);

#endif
