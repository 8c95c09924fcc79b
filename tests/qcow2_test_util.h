/* Helpers shared by the qcow2 driver tests (tests/test_qcow2_*.c): shell
 * commands (qemu-img, qemu-io), completion waits for the async block API,
 * scratch directory and engine set-up, and whole-file read/write. */
#ifndef VMM_TESTS_QCOW2_TEST_UTIL_H
#define VMM_TESTS_QCOW2_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "block/block.h"

/* system() of a formatted command; prints it when it fails. */
int qt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A request's completion: pass qt_cb and a struct qt_wait to block_*v(). */
struct qt_wait { int done, ret; };
void qt_cb(void *opaque, int ret);

/* Skips (returns 77) without qemu-img (and qemu-io when need_io); makes
 * dir (a template /tmp/NAME.XXXXXX filled in) and *eng with queue depth
 * depth. Returns 0, 77 or 1 (set-up failed). */
int qt_setup(const char *name, int need_io, unsigned depth, char *dir, size_t dirlen,
	     struct block_engine **eng);

/* The whole file (free() it); NULL when unreadable. */
uint8_t *qt_slurp(const char *path, size_t *len);
/* Writes len bytes as the whole file path: 0, or -1. */
int qt_write_file(const char *path, const void *buf, size_t len);

#endif
