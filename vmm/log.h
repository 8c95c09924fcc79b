/* vmm's own messages with a level and optional timestamps, on stderr or in
 * the -D log file. QEMU spelling: -D FILE (log file), -msg timestamp=on
 * (ISO 8601 UTC prefix, as QEMU's error_report), and -d LEVEL with LEVEL
 * one of error, warn, info (default), debug. With -D, stderr itself is the
 * file, so every "vmm: ..." line of the other modules lands there too. */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stddef.h>

enum vmm_log_level { VMM_LOG_ERROR, VMM_LOG_WARN, VMM_LOG_INFO, VMM_LOG_DEBUG };

/* 0 or -EINVAL for an unknown name. */
int log_parse_level(const char *name, enum vmm_log_level *out);
void log_set_level(enum vmm_log_level level);
void log_set_timestamps(int on);
int log_timestamps(void);

/* Points stderr at path (created, appended). 0 or -errno, msg says why. */
int log_open_file(const char *path, char *msg, size_t msglen);

/* "[timestamp ]vmm: [level: ]text\n" on stderr if level passes. */
void log_msg(enum vmm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats the timestamp prefix ("2026-11-30T07:46:56.123456Z ") into buf,
 * or "" when timestamps are off. */
void log_prefix(char *buf, size_t len);

#endif
