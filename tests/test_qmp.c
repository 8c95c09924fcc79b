/* Unit tests of the QMP server (vmm/qmp.c, vmm/qmp_commands.c) against a
 * fake VM: greeting, negotiation, every command's answer shape, QEMU's
 * error classes and wording, events, framing across partial reads, and
 * hostile input (huge, deep, invalid UTF-8, disconnects, many clients). */
#include "vmm/qmp.h"
#include "vmm/event_loop.h"
#include "tests/check.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct fake {
	enum qmp_run_state state;
	int stops, conts, powerdowns, resets, quits;
};

static enum qmp_run_state f_state(void *o) { return ((struct fake *)o)->state; }
static int f_stop(void *o, char *m, size_t l) { struct fake *f = o; f->stops++; f->state = QMP_STATE_PAUSED; return 0; }
static int f_cont(void *o, char *m, size_t l)
{
	struct fake *f = o;
	if (f->state == QMP_STATE_SHUTDOWN) {
		snprintf(m, l, "Resetting the Virtual Machine is required");
		return -EINVAL;
	}
	f->conts++;
	f->state = QMP_STATE_RUNNING;
	return 0;
}
static int f_powerdown(void *o, char *m, size_t l) { ((struct fake *)o)->powerdowns++; return 0; }
static int f_reset(void *o, char *m, size_t l) { ((struct fake *)o)->resets++; return 0; }
static void f_quit(void *o) { ((struct fake *)o)->quits++; }
static unsigned f_cpus(void *o, struct qmp_cpu_info *out, unsigned max)
{
	for (unsigned i = 0; i < 2 && i < max; i++)
		out[i] = (struct qmp_cpu_info){ i, 1000 + (int)i };
	return 2;
}
static unsigned f_blocks(void *o, struct qmp_block_info *out, unsigned max)
{
	out[0] = (struct qmp_block_info){ "virtio0", "/tmp/d.qcow2", "qcow2", 1 << 20, 0, 0, 1, 0, 0 };
	return 1;
}

/* eject / blockdev-change-medium / change: the last arguments seen. */
static struct { struct qmp_medium_args a; int calls; char file[64], format[16], rom[16]; } med;
static int f_medium(void *o, const struct qmp_medium_args *a, char *m, size_t l)
{
	med.calls++;
	med.a = *a;
	snprintf(med.file, sizeof(med.file), "%s", a->filename ? a->filename : "");
	snprintf(med.format, sizeof(med.format), "%s", a->format ? a->format : "");
	snprintf(med.rom, sizeof(med.rom), "%s", a->read_only_mode ? a->read_only_mode : "");
	const char *name = a->device ? a->device : a->id;
	if (strcmp(name, "cd0") != 0) {
		snprintf(m, l, "Device '%s' not found", name);
		return -ENODEV;
	}
	if (!a->force && a->filename && strcmp(a->filename, "locked.iso") == 0) {
		snprintf(m, l, "Device 'cd0' is locked and force was not specified, wait for tray to open and try again");
		return -EBUSY;
	}
	return 0;
}

static struct fake fake;
static const struct qmp_vm_ops ops = {
	f_state, f_stop, f_cont, f_powerdown, f_reset, f_quit, f_cpus, f_blocks, f_medium, &fake,
};
static struct event_loop *loop;
static struct qmp_server *srv;

/* Runs the loop until fd has a complete "\r\n" line, returns it parsed. */
static json_t *recv_msg(int fd)
{
	static char buf[1 << 16];
	static size_t have;
	static int buf_fd = -1;
	if (buf_fd != fd)
		have = 0;
	buf_fd = fd;
	for (int tries = 0; tries < 200; tries++) {
		char *nl = memmem(buf, have, "\r\n", 2);
		if (nl) {
			size_t len = (size_t)(nl - buf);
			json_t *j = json_loadb(buf, len, 0, NULL);
			memmove(buf, nl + 2, have - len - 2);
			have -= len + 2;
			return j;
		}
		event_loop_run_once(loop, 10);
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
		if (n == 0)
			return NULL;
	}
	return NULL;
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			event_loop_run_once(loop, 10);
			continue;
		}
		s += n;
		len -= (size_t)n;
	}
}

static json_t *cmd(int fd, const char *s)
{
	send_str(fd, s);
	return recv_msg(fd);
}

static const char *err_class(json_t *j) { return json_string_value(json_object_get(json_object_get(j, "error"), "class")); }
static const char *err_desc(json_t *j) { return json_string_value(json_object_get(json_object_get(j, "error"), "desc")); }

static int new_client(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	CHECK_EQ(qmp_server_add_client(srv, sv[1]), 0);
	return sv[0];
}

static int negotiated_client(void)
{
	int fd = new_client();
	json_t *g = recv_msg(fd);
	CHECK(json_is_array(json_object_get(json_object_get(g, "QMP"), "capabilities")));
	json_decref(g);
	json_t *r = cmd(fd, "{\"execute\": \"qmp_capabilities\"}");
	CHECK(json_is_object(json_object_get(r, "return")));
	json_decref(r);
	return fd;
}

static void test_greeting_and_negotiation(void)
{
	int fd = new_client();
	json_t *g = recv_msg(fd);
	json_t *ver = json_object_get(json_object_get(g, "QMP"), "version");
	CHECK(json_is_integer(json_object_get(json_object_get(ver, "qemu"), "major")));
	CHECK_STR(json_string_value(json_object_get(ver, "package")), "vmm");
	json_decref(g);

	json_t *r = cmd(fd, "{\"execute\": \"query-status\"}");
	CHECK_STR(err_class(r), "CommandNotFound");
	CHECK_STR(err_desc(r), "Expecting capabilities negotiation with 'qmp_capabilities'");
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"qmp_capabilities\", \"id\": [1, \"x\"]}");
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_EQ(json_integer_value(json_array_get(json_object_get(r, "id"), 0)), 1);
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"qmp_capabilities\"}");
	CHECK_STR(err_class(r), "CommandNotFound");
	json_decref(r);
	close(fd);
}

static void test_commands(void)
{
	int fd = negotiated_client();
	fake.state = QMP_STATE_RUNNING;
	json_t *r = cmd(fd, "{\"execute\": \"query-status\", \"id\": \"a\"}");
	json_t *ret = json_object_get(r, "return");
	CHECK_STR(json_string_value(json_object_get(ret, "status")), "running");
	CHECK(json_is_true(json_object_get(ret, "running")));
	CHECK_STR(json_string_value(json_object_get(r, "id")), "a");
	json_decref(r);

	r = cmd(fd, "{\"execute\": \"stop\"}");
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_EQ(fake.stops, 1);
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"query-status\"}");
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "return"), "status")), "paused");
	CHECK(json_is_false(json_object_get(json_object_get(r, "return"), "running")));
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"cont\"}");
	CHECK_EQ(fake.conts, 1);
	json_decref(r);
	fake.state = QMP_STATE_SHUTDOWN;
	r = cmd(fd, "{\"execute\": \"cont\"}");
	CHECK_STR(err_class(r), "GenericError");
	CHECK_STR(err_desc(r), "Resetting the Virtual Machine is required");
	json_decref(r);
	fake.state = QMP_STATE_RUNNING;

	r = cmd(fd, "{\"execute\": \"system_powerdown\"}");
	CHECK_EQ(fake.powerdowns, 1);
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"system_reset\"}");
	CHECK_EQ(fake.resets, 1);
	json_decref(r);

	r = cmd(fd, "{\"execute\": \"query-version\"}");
	CHECK(json_is_object(json_object_get(json_object_get(r, "return"), "qemu")));
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"query-name\"}");
	CHECK_STR(json_string_value(json_object_get(json_object_get(r, "return"), "name")), "vm-one");
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"query-cpus-fast\"}");
	ret = json_object_get(r, "return");
	CHECK_EQ(json_array_size(ret), 2);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(ret, 1), "cpu-index")), 1);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(ret, 1), "thread-id")), 1001);
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"query-block\"}");
	ret = json_array_get(json_object_get(r, "return"), 0);
	CHECK_STR(json_string_value(json_object_get(ret, "device")), "virtio0");
	CHECK_STR(json_string_value(json_object_get(json_object_get(ret, "inserted"), "drv")), "qcow2");
	CHECK_EQ(json_integer_value(json_object_get(json_object_get(json_object_get(ret, "inserted"), "image"), "virtual-size")), 1 << 20);
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"query-commands\"}");
	ret = json_object_get(r, "return");
	int found = 0;
	for (size_t i = 0; i < json_array_size(ret); i++)
		found += strcmp(json_string_value(json_object_get(json_array_get(ret, i), "name")), "system_powerdown") == 0;
	CHECK_EQ(found, 1);
	CHECK(json_array_size(ret) >= 13);
	json_decref(r);

	r = cmd(fd, "{\"execute\": \"quit\"}");
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_EQ(fake.quits, 1);
	json_decref(r);
	close(fd);
}

/* One request answered with an error: its class (unless cls is NULL) and desc. */
static void expect_err(int fd, const char *req, const char *cls, const char *desc)
{
	json_t *r = cmd(fd, req);
	if (cls)
		CHECK_STR(err_class(r), cls);
	CHECK_STR(err_desc(r), desc);
	json_decref(r);
}

static void test_medium(void)
{
	int fd = negotiated_client();
	json_t *r = cmd(fd, "{\"execute\": \"eject\", \"arguments\": {\"id\": \"cd0\", \"force\": true}}");
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_EQ(med.calls, 1);
	CHECK(med.a.device == NULL && med.a.filename == NULL && med.a.force == 1);
	json_decref(r);
	expect_err(fd, "{\"execute\": \"eject\", \"arguments\": {\"device\": \"nope\"}}",
		   "DeviceNotFound", "Device 'nope' not found");
	expect_err(fd, "{\"execute\": \"eject\"}",
		   NULL, "Need exactly one of 'device' and 'id'");
	expect_err(fd, "{\"execute\": \"eject\", \"arguments\": {\"device\": \"cd0\", \"id\": \"cd0\"}}",
		   NULL, "Need exactly one of 'device' and 'id'");
	expect_err(fd, "{\"execute\": \"eject\", \"arguments\": {\"device\": \"cd0\", \"force\": 1}}",
		   NULL, "Invalid parameter type for 'force', expected: boolean");
	CHECK_EQ(med.calls, 2);     /* argument errors never reach the VM */
	r = cmd(fd, "{\"execute\": \"blockdev-change-medium\", \"arguments\": {\"device\": \"cd0\", "
		"\"filename\": \"b.iso\", \"format\": \"raw\", \"read-only-mode\": \"retain\"}}");
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_STR(med.file, "b.iso");
	CHECK_STR(med.format, "raw");
	CHECK_STR(med.rom, "retain");
	json_decref(r);
	expect_err(fd, "{\"execute\": \"blockdev-change-medium\", \"arguments\": {\"device\": \"cd0\"}}",
		   NULL, "Parameter 'filename' is missing");
	expect_err(fd, "{\"execute\": \"blockdev-change-medium\", \"arguments\": {\"device\": \"cd0\", "
		"\"filename\": \"b.iso\", \"read-only-mode\": \"sometimes\"}}",
		   NULL, "Parameter 'read-only-mode' does not accept value 'sometimes'");
	expect_err(fd, "{\"execute\": \"blockdev-change-medium\", \"arguments\": {\"device\": \"cd0\", "
		"\"filename\": \"locked.iso\"}}",
		   "GenericError", "Device 'cd0' is locked and force was not specified, wait for tray to open and try again");
	/* the pre-7.2 spelling: target and arg */
	r = cmd(fd, "{\"execute\": \"change\", \"arguments\": {\"device\": \"cd0\", \"target\": \"c.iso\", \"arg\": \"raw\"}}");
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_STR(med.file, "c.iso");
	CHECK_STR(med.format, "raw");
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"change\", \"arguments\": {\"device\": \"vnc\", \"target\": \"password\"}}");
	CHECK_STR(err_class(r), "GenericError");
	json_decref(r);
	close(fd);
}

static void test_errors(void)
{
	int fd = negotiated_client();
	static const struct { const char *in, *cls, *desc; } cases[] = {
		{ "{\"execute\": \"no-such\"}", "CommandNotFound", "The command no-such has not been found" },
		{ "{\"execute\": 42}", "GenericError", "QMP input member 'execute' must be a string" },
		{ "{\"arguments\": {}}", "GenericError", "QMP input lacks member 'execute'" },
		{ "{\"execute\": \"stop\", \"arguments\": []}", "GenericError", "QMP input member 'arguments' must be an object" },
		{ "{\"execute\": \"stop\", \"foo\": 1}", "GenericError", "QMP input member 'foo' is unexpected" },
		{ "{\"execute\": \"stop\", \"arguments\": {\"x\": 1}}", "GenericError", "Parameter 'x' is unexpected" },
		{ "[1, 2]", "GenericError", "QMP input must be a JSON object" },
		{ "{\"execute\": \"stop\", \"execute\": \"cont\"}", "GenericError", NULL },
		{ "{\"execute\" \"stop\"}", "GenericError", NULL },
		{ "{\"execute\": \"st\xff\xfeop\"}", "GenericError", NULL },
		{ "{\"execute\": \"st\\u0000op\"}", "GenericError", NULL },
		{ "42\n", "GenericError", "QMP input must be a JSON object" },
		{ "nonsense\n", "GenericError", NULL },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = cmd(fd, cases[i].in);
		if (!r) {
			CHECK(!"no answer");
			fprintf(stderr, "  case %u: %s\n", i, cases[i].in);
			continue;
		}
		CHECK_STR(err_class(r), cases[i].cls);
		if (cases[i].desc)
			CHECK_STR(err_desc(r), cases[i].desc);
		else if (strncmp(err_desc(r) ? err_desc(r) : "", "JSON parse error", 16) != 0 &&
			 strstr(cases[i].in, "\\u0000") == NULL)
			CHECK_STR(err_desc(r), "JSON parse error...");
		json_decref(r);
	}
	/* Wrong argument type, then the good spelling: the client still works. */
	json_t *r = cmd(fd, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}");
	CHECK_STR(err_class(r), "CommandNotFound");   /* already negotiated */
	json_decref(r);
	int fd2 = new_client();
	json_decref(recv_msg(fd2));
	r = cmd(fd2, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": \"oob\"}}");
	CHECK_STR(err_class(r), "GenericError");
	CHECK_STR(err_desc(r), "Invalid parameter type for 'enable', expected: array");
	json_decref(r);
	close(fd2);

	/* One message split into single bytes, two messages in one write,
	 * braces inside strings. */
	const char *m = "{\"execute\": \"query-status\", \"id\": \"}{][\\\"\"}";
	for (const char *p = m; *p; p++) {
		char b[2] = { *p, 0 };
		send_str(fd, b);
		event_loop_run_once(loop, 0);
	}
	r = recv_msg(fd);
	CHECK_STR(json_string_value(json_object_get(r, "id")), "}{][\"");
	json_decref(r);
	send_str(fd, "{\"execute\": \"query-name\", \"id\": 1}{\"execute\": \"query-name\", \"id\": 2}");
	r = recv_msg(fd);
	CHECK_EQ(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = recv_msg(fd);
	CHECK_EQ(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	close(fd);
}

static void test_hostile(void)
{
	int fd = negotiated_client();
	/* Nesting bomb: one error, the rest skipped, the client still works. */
	char *bomb = malloc(20001);
	memset(bomb, '[', 10000);
	memset(bomb + 10000, ']', 10000);
	bomb[20000] = 0;
	json_t *r = cmd(fd, bomb);
	CHECK_STR(err_desc(r), "JSON nesting too deep (limit 64)");
	json_decref(r);
	r = cmd(fd, "{\"execute\": \"query-status\", \"id\": \"after-bomb\"}");
	CHECK_STR(json_string_value(json_object_get(r, "id")), "after-bomb");
	json_decref(r);
	free(bomb);

	/* Depth 60 is fine (answered as a bad request, not refused). */
	char deep[200] = "{\"execute\": \"stop\", \"id\": ";
	size_t n = strlen(deep);
	for (int i = 0; i < 60; i++)
		deep[n++] = '[';
	for (int i = 0; i < 60; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = 0;
	int stops = fake.stops;
	r = cmd(fd, deep);
	CHECK(json_is_object(json_object_get(r, "return")));
	CHECK_EQ(fake.stops, stops + 1);
	json_decref(r);

	/* A message over 1 MiB: an error, then the connection is closed. */
	unsigned before = qmp_server_nclients(srv);
	size_t big = QMP_MAX_MESSAGE + 100;
	char *huge = malloc(big + 1);
	memcpy(huge, "{\"execute\": \"", 13);
	memset(huge + 13, 'a', big - 13);
	huge[big] = 0;
	send_str(fd, huge);
	free(huge);
	r = recv_msg(fd);
	CHECK_STR(err_desc(r), "JSON message too long (limit 1 MiB), closing the connection");
	json_decref(r);
	for (int i = 0; i < 50 && qmp_server_nclients(srv) == before; i++)
		event_loop_run_once(loop, 10);
	CHECK_EQ(qmp_server_nclients(srv), before - 1);
	close(fd);

	/* Disconnect mid-message: the client is dropped, nothing dispatched. */
	fd = negotiated_client();
	before = qmp_server_nclients(srv);
	int resets = fake.resets;
	send_str(fd, "{\"execute\": \"system_reset\"");
	event_loop_run_once(loop, 10);
	close(fd);
	for (int i = 0; i < 50 && qmp_server_nclients(srv) == before; i++)
		event_loop_run_once(loop, 10);
	CHECK_EQ(qmp_server_nclients(srv), before - 1);
	CHECK_EQ(fake.resets, resets);
}

static void test_events_and_many_clients(void)
{
	int fds[20];
	int raw = new_client();                  /* not negotiated: gets no events */
	json_decref(recv_msg(raw));
	for (int i = 0; i < 20; i++)
		fds[i] = negotiated_client();
	qmp_server_emit(srv, "SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}");
	for (int i = 0; i < 20; i++) {
		json_t *e = recv_msg(fds[i]);
		CHECK_STR(json_string_value(json_object_get(e, "event")), "SHUTDOWN");
		CHECK_STR(json_string_value(json_object_get(json_object_get(e, "data"), "reason")), "guest-shutdown");
		json_t *ts = json_object_get(e, "timestamp");
		CHECK(json_integer_value(json_object_get(ts, "seconds")) > 1600000000);
		CHECK(json_integer_value(json_object_get(ts, "microseconds")) < 1000000);
		json_decref(e);
	}
	qmp_server_emit(srv, "STOP", NULL);
	json_t *e = recv_msg(fds[7]);
	CHECK_STR(json_string_value(json_object_get(e, "event")), "STOP");
	CHECK(json_object_get(e, "data") == NULL);
	json_decref(e);
	/* raw saw nothing: its next message is the answer to its command. */
	json_t *r = cmd(raw, "{\"execute\": \"qmp_capabilities\"}");
	CHECK(json_is_object(json_object_get(r, "return")));
	json_decref(r);
	close(raw);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
}

static void test_unix_listener(void)
{
	char path[] = "/tmp/test_qmp_sockXXXXXX";
	int tfd = mkstemp(path);
	close(tfd);
	char msg[256];
	/* A regular file at the path is not ours to replace. */
	CHECK_EQ(qmp_server_listen_unix(srv, path, msg, sizeof(msg)), -EEXIST);
	unlink(path);
	CHECK_EQ(qmp_server_listen_unix(srv, path, msg, sizeof(msg)), 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	json_t *g = recv_msg(fd);
	CHECK(json_object_get(g, "QMP") != NULL);
	json_decref(g);
	close(fd);
	qmp_server_destroy(srv);
	srv = NULL;
	CHECK(stat(path, &st) < 0 && errno == ENOENT);   /* unlinked on exit */
}

int main(void)
{
	CHECK_EQ(event_loop_create(&loop), 0);
	CHECK_EQ(qmp_server_create(&srv, loop, &ops, "vm-one"), 0);
	test_greeting_and_negotiation();
	test_commands();
	test_errors();
	test_medium();
	test_hostile();
	test_events_and_many_clients();
	test_unix_listener();
	event_loop_destroy(loop);
	return check_done();
}
