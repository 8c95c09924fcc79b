/* Least privilege (docs/security.md): -chroot DIR and -runas USER, applied
 * once after set-up (/dev/kvm, images, taps, sockets open) and before the
 * sandbox and the vCPU threads: chroot(DIR) + chdir("/"), then
 * initgroups/setgid/setuid to USER, then a check that root cannot be
 * regained (setuid(0) must fail). */
#ifndef VMM_PRIVILEGES_H
#define VMM_PRIVILEGES_H

#include <stddef.h>

/* runas and chroot_dir may be NULL. Returns 0 or a negative errno with a
 * one-line message in msg. Later calls return 0 without doing anything. */
int privileges_drop(const char *runas, const char *chroot_dir, char *msg, size_t msglen);

#endif
