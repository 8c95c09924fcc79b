/* QMP command dispatch and handlers: request validation with QEMU's wording
 * (qapi/qmp-dispatch.c), capabilities negotiation (qmp-spec.rst section
 * "Capabilities Negotiation"), and the commands vmm implements, answered in
 * the shapes of QEMU's QAPI schema (qapi/misc.json, run-state.json,
 * machine.json, block-core.json). */
#include "vmm/qmp.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMM_QMP_MAJOR 0
#define VMM_QMP_MINOR 1
#define VMM_QMP_MICRO 0

enum arg_type { ARG_BOOL, ARG_STR, ARG_INT, ARG_ARRAY };

struct arg_spec {
	const char *name;
	enum arg_type type;
	int required;
};

struct cmd_result {
	json_t *ret;          /* success value (stolen), or NULL with an error */
	const char *err_class;
	char desc[256];
};

typedef void (*cmd_fn)(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r);

struct qmp_command {
	const char *name;
	cmd_fn fn;
	const struct arg_spec *args;   /* NULL-name terminated, or NULL */
};

static void fail(struct cmd_result *r, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct cmd_result *r, const char *cls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->desc, sizeof(r->desc), fmt, ap);
	va_end(ap);
	/* jansson's messages may quote input bytes; the answer must be UTF-8. */
	for (char *p = r->desc; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	r->err_class = cls;
	json_decref(r->ret);
	r->ret = NULL;
}

static const char *const state_names[] = {
	[QMP_STATE_RUNNING] = "running",
	[QMP_STATE_PAUSED] = "paused",
	[QMP_STATE_SHUTDOWN] = "shutdown",
	[QMP_STATE_PRELAUNCH] = "prelaunch",
};

/* ---- handlers ------------------------------------------------------------ */

static void cmd_capabilities(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	json_t *enable = json_object_get(args, "enable");
	size_t i;
	json_t *v;
	json_array_foreach(enable, i, v) {
		fail(r, "GenericError", "Capability '%s' not available",
		     json_is_string(v) ? json_string_value(v) : "?");
		return;
	}
	ctx->negotiated = 1;
	r->ret = json_object();
}

static void cmd_query_version(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	r->ret = json_pack("{s:{s:i,s:i,s:i},s:s}", "qemu", "major", VMM_QMP_MAJOR,
			   "minor", VMM_QMP_MINOR, "micro", VMM_QMP_MICRO, "package", "vmm");
}

static void cmd_query_status(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	enum qmp_run_state st = ctx->ops->state(ctx->ops->opaque);
	if ((unsigned)st >= sizeof(state_names) / sizeof(state_names[0]))
		st = QMP_STATE_RUNNING;
	r->ret = json_pack("{s:s,s:b,s:b}", "status", state_names[st], "singlestep", 0,
			   "running", st == QMP_STATE_RUNNING);
}

static void cmd_query_name(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	r->ret = ctx->name ? json_pack("{s:s}", "name", ctx->name) : json_object();
}

static void cmd_query_kvm(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	r->ret = json_pack("{s:b,s:b}", "enabled", 1, "present", 1);
}

static void run_op(struct qmp_dispatch_ctx *ctx, struct cmd_result *r,
		   int (*op)(void *, char *, size_t))
{
	char msg[200] = "";
	int ret = op(ctx->ops->opaque, msg, sizeof(msg));
	if (ret < 0)
		fail(r, "GenericError", "%s", msg[0] ? msg : strerror(-ret));
	else
		r->ret = json_object();
}

static void cmd_stop(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	run_op(ctx, r, ctx->ops->stop);
}

static void cmd_cont(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	run_op(ctx, r, ctx->ops->cont);
}

static void cmd_powerdown(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	run_op(ctx, r, ctx->ops->powerdown);
}

static void cmd_reset(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	run_op(ctx, r, ctx->ops->reset);
}

static void cmd_quit(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	ctx->quit = 1;
	r->ret = json_object();
}

static void cmd_query_cpus_fast(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	struct qmp_cpu_info cpus[64];
	unsigned n = ctx->ops->cpus(ctx->ops->opaque, cpus, 64);
	json_t *a = json_array();
	for (unsigned i = 0; i < n && i < 64; i++) {
		char qom[64];
		snprintf(qom, sizeof(qom), "/machine/unattached/device[%u]", cpus[i].index);
		json_array_append_new(a, json_pack("{s:i,s:s,s:i,s:{s:i,s:i,s:i,s:i},s:s}",
			"cpu-index", (json_int_t)cpus[i].index, "qom-path", qom,
			"thread-id", (json_int_t)cpus[i].thread_id,
			"props", "core-id", (json_int_t)cpus[i].index, "thread-id", 0, "socket-id", 0,
			"node-id", 0, "target", "x86_64"));
	}
	r->ret = a;
}

static void cmd_query_block(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	struct qmp_block_info b[16];
	unsigned n = ctx->ops->blocks ? ctx->ops->blocks(ctx->ops->opaque, b, 16) : 0;
	json_t *a = json_array();
	for (unsigned i = 0; i < n && i < 16; i++) {
		json_t *image = json_pack("{s:s,s:s,s:I}", "filename", b[i].file ? b[i].file : "",
					  "format", b[i].format ? b[i].format : "raw",
					  "virtual-size", (json_int_t)b[i].size);
		json_t *ins = json_pack("{s:s,s:s,s:b,s:i,s:b,s:s,s:o}",
					"file", b[i].file ? b[i].file : "",
					"drv", b[i].format ? b[i].format : "raw",
					"ro", b[i].read_only, "backing_file_depth", 0,
					"encrypted", 0, "detect_zeroes", "off", "image", image);
		json_t *o = json_pack("{s:s,s:b,s:b,s:s}", "device", b[i].device ? b[i].device : "",
				      "locked", b[i].locked, "removable", b[i].removable, "type", "unknown");
		if (o && b[i].removable)
			json_object_set_new(o, "tray_open", json_boolean(b[i].tray_open));
		if (o && (b[i].inserted || !b[i].removable))
			json_object_set_new(o, "inserted", ins);
		else
			json_decref(ins);
		json_array_append_new(a, o);
	}
	r->ret = a;
}

/* eject, blockdev-change-medium and the pre-7.2 change (blockdev.c
 * qmp_eject, qmp_blockdev_change_medium, hmp "change"). */
static void run_medium(struct qmp_dispatch_ctx *ctx, struct cmd_result *r, struct qmp_medium_args *m)
{
	char msg[200] = "";
	if (!m->device == !m->id) {
		fail(r, "GenericError", "Need exactly one of 'device' and 'id'");
		return;
	}
	if (m->read_only_mode && strcmp(m->read_only_mode, "retain") &&
	    strcmp(m->read_only_mode, "read-only") && strcmp(m->read_only_mode, "read-write")) {
		fail(r, "GenericError", "Parameter 'read-only-mode' does not accept value '%.60s'",
		     m->read_only_mode);
		return;
	}
	int ret = ctx->ops->medium ? ctx->ops->medium(ctx->ops->opaque, m, msg, sizeof(msg)) : -ENODEV;
	if (ret == -ENODEV)
		fail(r, "DeviceNotFound", "%s", msg[0] ? msg : "Device not found");
	else if (ret < 0)
		fail(r, "GenericError", "%s", msg[0] ? msg : strerror(-ret));
	else
		r->ret = json_object();
}

static const char *str_arg(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));   /* NULL when absent */
}

static void cmd_eject(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	struct qmp_medium_args m = { .device = str_arg(args, "device"), .id = str_arg(args, "id"),
				     .force = json_is_true(json_object_get(args, "force")) };
	run_medium(ctx, r, &m);
}

static void cmd_change_medium(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	struct qmp_medium_args m = {
		.device = str_arg(args, "device"), .id = str_arg(args, "id"),
		.filename = str_arg(args, "filename"), .format = str_arg(args, "format"),
		.force = json_is_true(json_object_get(args, "force")),
		.read_only_mode = str_arg(args, "read-only-mode"),
	};
	run_medium(ctx, r, &m);
}

/* QEMU <= 7.1 "change": kept as an alias of blockdev-change-medium (the
 * "vnc" device of the old command is not supported). */
static void cmd_change(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	struct qmp_medium_args m = { .device = str_arg(args, "device"),
				     .filename = str_arg(args, "target"), .format = str_arg(args, "arg") };
	if (strcmp(m.device, "vnc") == 0) {
		fail(r, "GenericError", "vmm has no VNC server");
		return;
	}
	run_medium(ctx, r, &m);
}

static void cmd_query_commands(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r);

static const struct arg_spec caps_args[] = { { "enable", ARG_ARRAY, 0 }, { NULL, 0, 0 } };
static const struct arg_spec eject_args[] = {
	{ "device", ARG_STR, 0 }, { "id", ARG_STR, 0 }, { "force", ARG_BOOL, 0 }, { NULL, 0, 0 } };
static const struct arg_spec change_medium_args[] = {
	{ "device", ARG_STR, 0 }, { "id", ARG_STR, 0 }, { "filename", ARG_STR, 1 },
	{ "format", ARG_STR, 0 }, { "force", ARG_BOOL, 0 }, { "read-only-mode", ARG_STR, 0 },
	{ NULL, 0, 0 } };
static const struct arg_spec change_args[] = {
	{ "device", ARG_STR, 1 }, { "target", ARG_STR, 1 }, { "arg", ARG_STR, 0 }, { NULL, 0, 0 } };

/* What vmm implements; docs/usage.md "Headless servers" compares with QEMU. */
static const struct qmp_command commands[] = {
	{ "qmp_capabilities", cmd_capabilities, caps_args },
	{ "query-version", cmd_query_version, NULL },
	{ "query-status", cmd_query_status, NULL },
	{ "query-name", cmd_query_name, NULL },
	{ "query-kvm", cmd_query_kvm, NULL },
	{ "query-commands", cmd_query_commands, NULL },
	{ "query-cpus-fast", cmd_query_cpus_fast, NULL },
	{ "query-block", cmd_query_block, NULL },
	{ "stop", cmd_stop, NULL },
	{ "cont", cmd_cont, NULL },
	{ "system_powerdown", cmd_powerdown, NULL },
	{ "system_reset", cmd_reset, NULL },
	{ "quit", cmd_quit, NULL },
	{ "eject", cmd_eject, eject_args },
	{ "blockdev-change-medium", cmd_change_medium, change_medium_args },
	{ "change", cmd_change, change_args },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void cmd_query_commands(struct qmp_dispatch_ctx *ctx, json_t *args, struct cmd_result *r)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < NCOMMANDS; i++)
		json_array_append_new(a, json_pack("{s:s}", "name", commands[i].name));
	r->ret = a;
}

/* ---- validation and dispatch -------------------------------------------- */

static const char *type_name(enum arg_type t)
{
	switch (t) {
	case ARG_BOOL: return "boolean";
	case ARG_STR: return "string";
	case ARG_INT: return "integer";
	default: return "array";
	}
}

static int type_ok(enum arg_type t, json_t *v)
{
	switch (t) {
	case ARG_BOOL: return json_is_boolean(v);
	case ARG_STR: return json_is_string(v);
	case ARG_INT: return json_is_integer(v);
	default: return json_is_array(v);
	}
}

static int check_args(const struct qmp_command *c, json_t *args, struct cmd_result *r)
{
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v) {
		const struct arg_spec *a = c->args;
		while (a && a->name && strcmp(a->name, key) != 0)
			a++;
		if (!a || !a->name) {
			fail(r, "GenericError", "Parameter '%.100s' is unexpected", key);
			return -1;
		}
		if (!type_ok(a->type, v)) {
			fail(r, "GenericError", "Invalid parameter type for '%s', expected: %s",
			     a->name, type_name(a->type));
			return -1;
		}
	}
	for (const struct arg_spec *a = c->args; a && a->name; a++)
		if (a->required && !json_object_get(args, a->name)) {
			fail(r, "GenericError", "Parameter '%s' is missing", a->name);
			return -1;
		}
	return 0;
}

/* Validates the request object (qmp-dispatch.c qmp_dispatch_check_obj) and
 * runs the command; r gets the result. id gets the request's "id" (borrowed). */
static void dispatch(struct qmp_dispatch_ctx *ctx, json_t *req, struct cmd_result *r, json_t **id)
{
	if (!json_is_object(req)) {
		fail(r, "GenericError", "QMP input must be a JSON object");
		return;
	}
	*id = json_object_get(req, "id");
	const char *key;
	json_t *v, *exec = NULL, *args = NULL;
	json_object_foreach(req, key, v) {
		if (strcmp(key, "execute") == 0) {
			if (!json_is_string(v)) {
				fail(r, "GenericError", "QMP input member 'execute' must be a string");
				return;
			}
			exec = v;
		} else if (strcmp(key, "arguments") == 0) {
			if (!json_is_object(v)) {
				fail(r, "GenericError", "QMP input member 'arguments' must be an object");
				return;
			}
			args = v;
		} else if (strcmp(key, "id") != 0) {
			fail(r, "GenericError", "QMP input member '%.100s' is unexpected", key);
			return;
		}
	}
	if (!exec) {
		fail(r, "GenericError", "QMP input lacks member 'execute'");
		return;
	}
	const char *name = json_string_value(exec);
	const struct qmp_command *c = NULL;
	for (unsigned i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			c = &commands[i];
	int is_caps = c && c->fn == cmd_capabilities;
	if (!ctx->negotiated && !is_caps) {
		fail(r, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
		return;
	}
	if (ctx->negotiated && is_caps) {
		fail(r, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
		return;
	}
	if (!c) {
		fail(r, "CommandNotFound", "The command %.100s has not been found", name);
		return;
	}
	json_t *empty = NULL;
	if (!args)
		args = empty = json_object();
	if (check_args(c, args, r) == 0)
		c->fn(ctx, args, r);
	json_decref(empty);
	if (!r->ret && !r->err_class)
		fail(r, "GenericError", "out of memory");
}

char *qmp_dispatch_text(struct qmp_dispatch_ctx *ctx, const char *request, size_t len)
{
	struct cmd_result r = { 0 };
	json_error_t jerr;
	json_t *id = NULL;
	json_t *req = json_loadb(request, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		fail(&r, "GenericError", "JSON parse error, %s", jerr.text);
	else
		dispatch(ctx, req, &r, &id);

	json_t *ans;
	if (r.ret)
		ans = json_pack("{s:o}", "return", r.ret);
	else
		ans = json_pack("{s:{s:s,s:s}}", "error", "class", r.err_class, "desc", r.desc);
	if (ans && id)
		json_object_set(ans, "id", id);
	char *text = ans ? json_dumps(ans, JSON_PRESERVE_ORDER) : NULL;
	json_decref(ans);
	json_decref(req);
	return text;
}
