/* Fuzz target: QMP handling (vmm/qmp.c stream framing and JSON parsing,
 * vmm/qmp_commands.c dispatch; QEMU docs/interop/qmp-spec.rst) with a fake
 * machine. The input goes twice: whole to qmp_dispatch_text() (in both
 * capability-negotiation modes), and as a client's byte stream through a
 * socketpair into the server, whose answers are drained. */
#include "fuzz/fuzz.h"
#include "vmm/event_loop.h"
#include "vmm/qmp.h"

#include <errno.h>
#include <sys/socket.h>

static enum qmp_run_state st = QMP_STATE_RUNNING;
static enum qmp_run_state f_state(void *o) { return st; }
static int f_stop(void *o, char *m, size_t l) { st = QMP_STATE_PAUSED; return 0; }
static int f_cont(void *o, char *m, size_t l)
{
	if (st == QMP_STATE_SHUTDOWN) {
		snprintf(m, l, "Resetting the Virtual Machine is required");
		return -EINVAL;
	}
	st = QMP_STATE_RUNNING;
	return 0;
}
static int f_powerdown(void *o, char *m, size_t l) { st = QMP_STATE_SHUTDOWN; return 0; }
static int f_reset(void *o, char *m, size_t l) { st = QMP_STATE_RUNNING; return 0; }
static void f_quit(void *o) {}
static unsigned f_cpus(void *o, struct qmp_cpu_info *out, unsigned max)
{
	for (unsigned i = 0; i < 2 && i < max; i++)
		out[i] = (struct qmp_cpu_info){ i, 1000 + (int)i };
	return 2;
}
static unsigned f_blocks(void *o, struct qmp_block_info *out, unsigned max)
{
	if (max)
		out[0] = (struct qmp_block_info){ "virtio0", "/tmp/d.qcow2", "qcow2", 1 << 20, 0, 0, 1, 0, 0 };
	return max ? 1 : 0;
}
static const struct qmp_vm_ops ops = {
	f_state, f_stop, f_cont, f_powerdown, f_reset, f_quit, f_cpus, f_blocks, NULL, NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_dispatch_ctx ctx = { .ops = &ops, .name = "fuzz" };
	static struct event_loop *loop;
	struct qmp_server *srv;
	static char sink[65536];
	size_t sent = 0;
	char *ans;
	int sv[2];

	st = QMP_STATE_RUNNING;
	for (ctx.negotiated = 0; ctx.negotiated < 2; ctx.negotiated++) {
		int neg = ctx.negotiated;

		ans = qmp_dispatch_text(&ctx, (const char *)data, size);
		free(ans);
		ctx.negotiated = neg;
	}

	if (!loop && event_loop_create(&loop) != 0)
		abort();
	if (qmp_server_create(&srv, loop, &ops, "fuzz") != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0 ||
	    qmp_server_add_client(srv, sv[0]) != 0)
		abort();
	for (int round = 0; round < 64 && (sent < size || round < 2); round++) {
		if (sent < size) {
			ssize_t n = send(sv[1], data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n > 0)
				sent += (size_t)n;
		}
		event_loop_run_once(loop, 0);
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
	}
	qmp_server_destroy(srv);
	close(sv[1]);
	event_loop_run_once(loop, 0);
	return 0;
}
