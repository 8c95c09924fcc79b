/* QMP, the QEMU Machine Protocol (QEMU docs/interop/qmp-spec.rst): a server
 * on Unix sockets (and already-connected fds) run by the main thread's event
 * loop. Greeting, capabilities negotiation, one JSON object per command,
 * {"return": ...} / {"error": {"class", "desc"}} answers echoing "id", and
 * asynchronous events with timestamps. JSON is libjansson's. The VM is seen
 * through struct qmp_vm_ops only, so the protocol is unit-tested without KVM. */
#ifndef VMM_QMP_H
#define VMM_QMP_H

#include <stddef.h>
#include <stdint.h>

struct event_loop;
struct qmp_server;

/* Limits on what a client may send (a longer message is answered with an
 * error and the client is dropped; deeper nesting is answered and skipped). */
#define QMP_MAX_MESSAGE   (1u << 20)
#define QMP_MAX_DEPTH     64
#define QMP_MAX_CLIENTS   64
#define QMP_MAX_OUTPUT    (4u << 20)   /* unread answers/events before a drop */

enum qmp_run_state { QMP_STATE_RUNNING, QMP_STATE_PAUSED, QMP_STATE_SHUTDOWN, QMP_STATE_PRELAUNCH };

struct qmp_cpu_info {
	unsigned index;
	int thread_id;             /* host TID of the vCPU thread, 0 if unknown */
};

struct qmp_block_info {
	const char *device;        /* "virtio0", or the -drive id= */
	const char *file;
	const char *format;        /* "raw", "qcow2" */
	uint64_t size;             /* virtual size, bytes */
	int read_only, removable;
	int inserted;              /* a medium is in (file/format/size valid) */
	int tray_open, locked;     /* removable only */
};

/* blockdev-change-medium (QEMU block-core.json): device or id names the drive. */
struct qmp_medium_args {
	const char *device, *id;   /* exactly one is non-NULL */
	const char *filename;      /* NULL: eject only */
	const char *format;        /* NULL: probe */
	int force;
	const char *read_only_mode;   /* NULL, "retain", "read-only", "read-write" */
};

/* What QMP commands ask of the VM; all called on the main thread. Functions
 * returning int give 0 or a negative errno with a one-line reason in msg. */
struct qmp_vm_ops {
	enum qmp_run_state (*state)(void *opaque);
	int (*stop)(void *opaque, char *msg, size_t msglen);
	int (*cont)(void *opaque, char *msg, size_t msglen);
	int (*powerdown)(void *opaque, char *msg, size_t msglen);   /* ACPI power button */
	int (*reset)(void *opaque, char *msg, size_t msglen);
	void (*quit)(void *opaque);                                 /* after the answer is queued */
	unsigned (*cpus)(void *opaque, struct qmp_cpu_info *out, unsigned max);
	unsigned (*blocks)(void *opaque, struct qmp_block_info *out, unsigned max);
	/* eject (filename NULL) or blockdev-change-medium; -ENODEV: no such
	 * drive (DeviceNotFound); other errors GenericError. May be NULL. */
	int (*medium)(void *opaque, const struct qmp_medium_args *a, char *msg, size_t msglen);
	void *opaque;
};

/* A server with no listening socket yet. name is -name (may be NULL). */
int qmp_server_create(struct qmp_server **out, struct event_loop *loop,
		      const struct qmp_vm_ops *ops, const char *name);
/* Closes every client and listener, unlinks the socket files it created.
 * Pending output is written if the socket takes it without blocking. */
void qmp_server_destroy(struct qmp_server *s);

/* Listens on a Unix socket at path (an existing socket file there is
 * replaced). 0 or -errno with a one-line message in msg. */
int qmp_server_listen_unix(struct qmp_server *s, const char *path, char *msg, size_t msglen);
/* Serves an already connected stream fd (the server owns and closes it);
 * the greeting is queued at once. 0 or -errno. */
int qmp_server_add_client(struct qmp_server *s, int fd);
unsigned qmp_server_nclients(const struct qmp_server *s);

/* Sends {"event": name, "data": data, "timestamp": ...} to every client in
 * command mode. data_json is a JSON object text or NULL (no "data"). */
void qmp_server_emit(struct qmp_server *s, const char *name, const char *data_json);

/* Writes pending output, blocking up to timeout_ms in total (used before
 * the process exits so that "quit" and SHUTDOWN reach the client). */
void qmp_server_flush(struct qmp_server *s, int timeout_ms);

/* Host TID of this process's thread named comm (pthread_setname_np), from
 * /proc/self/task; 0 if none. */
int qmp_find_thread(const char *comm);

/* ---- command dispatch (vmm/qmp_commands.c), used by qmp.c and the tests */

/* Parsed request in, answer out: *answer is a new JSON object text
 * ({"return": ...} or {"error": ...}, with "id" echoed) that the caller frees.
 * negotiated is the client's mode; a successful qmp_capabilities sets it.
 * Sets *quit when the command was "quit". */
struct qmp_dispatch_ctx {
	const struct qmp_vm_ops *ops;
	const char *name;
	int negotiated;
	int quit;
};
char *qmp_dispatch_text(struct qmp_dispatch_ctx *ctx, const char *request, size_t len);

#endif
