/* -runas USER / -chroot DIR: dropping root after set-up, as QEMU's
 * os-posix.c does (chroot first, then groups, gid, uid; then verify). */
#include "vmm/privileges.h"
#include "vmm/log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int privileges_drop(const char *runas, const char *chroot_dir, char *msg, size_t msglen)
{
	static int done;
	struct passwd *pw = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	char name[256];

	if (done || (!runas && !chroot_dir))
		return 0;
	if (runas) {
		errno = 0;
		pw = getpwnam(runas);      /* before chroot: /etc/passwd is outside */
		if (!pw) {
			snprintf(msg, msglen, "-runas: user '%s' not found", runas);
			return errno ? -errno : -ENOENT;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		snprintf(name, sizeof(name), "%s", pw->pw_name);
		if (uid == 0) {
			snprintf(msg, msglen, "-runas: '%s' is root", runas);
			return -EINVAL;
		}
	}
	if (chroot_dir) {
		if (chroot(chroot_dir) < 0 || chdir("/") < 0) {
			int err = errno;

			snprintf(msg, msglen, "-chroot %s: %s", chroot_dir, strerror(err));
			return -err;
		}
	}
	if (runas) {
		if (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
			int err = errno;

			snprintf(msg, msglen, "-runas %s: %s", runas, strerror(err));
			return -err;
		}
		/* The saved set-user-ID is gone too: no way back to root. */
		if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
			snprintf(msg, msglen, "-runas %s: could regain root after dropping it", runas);
			return -EPERM;
		}
	}
	done = 1;
	log_msg(VMM_LOG_INFO, "running as uid %u gid %u%s%s", (unsigned)getuid(), (unsigned)getgid(),
		chroot_dir ? " in chroot " : "", chroot_dir ? chroot_dir : "");
	return 0;
}
