/* Options for headless servers, QEMU spelling (qemu-system-x86_64(1)):
 * -qmp unix:PATH,server=on,wait=off (or server,nowait), -chardev socket,
 * id=ID,path=PATH,server=on,wait=off with -mon chardev=ID,mode=control,
 * -daemonize, -pidfile, -no-shutdown, -nodefaults, -D FILE, -d LEVEL,
 * -msg timestamp=on, and vmm's -shutdown-timeout SECONDS. */
#include "vmm/cli.h"
#include "vmm/cli_internal.h"

#include <string.h>

/* server=on/off and wait=on/off, with QEMU's bare "server"/"nowait". */
static int socket_flag(const char *key, const char *val, int *server, int *nowait)
{
	if (strcmp(key, "server") == 0) {
		if (!val || strcmp(val, "on") == 0)
			*server = 1;
		else if (strcmp(val, "off") == 0)
			*server = 0;
		else
			return -1;
		return 1;
	}
	if (strcmp(key, "nowait") == 0 && !val) {
		*nowait = 1;
		return 1;
	}
	if (strcmp(key, "wait") == 0 && val) {
		if (strcmp(val, "off") == 0)
			*nowait = 1;
		else if (strcmp(val, "on") == 0)
			*nowait = 0;
		else
			return -1;
		return 1;
	}
	return 0;
}

struct sock_parse {
	const char *path, *id;
	int server, nowait, is_socket;
};
static struct sock_parse sp;   /* only during one cli_for_each_prop call */

static int qmp_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	int r = socket_flag(key, val, &sp.server, &sp.nowait);
	if (r < 0)
		return cli_fail(err, errlen, "%s: invalid value '%s' for '%s'", opt, val, key);
	if (r > 0)
		return 0;
	if (strcmp(key, "path") == 0 && val && *val) {
		if (!(sp.path = cli_save_string(cfg, val)))
			return cli_fail(err, errlen, "%s: too many strings", opt);
		return 0;
	}
	if (strcmp(key, "id") == 0 && val && *val) {
		if (!(sp.id = cli_save_string(cfg, val)))
			return cli_fail(err, errlen, "%s: too many strings", opt);
		return 0;
	}
	if (strcmp(key, "backend") == 0 && val) {
		if (strcmp(val, "socket") != 0)
			return cli_fail(err, errlen, "%s: unsupported backend '%s' (socket)", opt, val);
		sp.is_socket = 1;
		return 0;
	}
	return cli_fail(err, errlen, "%s: unsupported property '%s'", opt, key);
}

static int add_qmp(struct vmm_config *cfg, const char *opt, const char *path, char *err, size_t errlen)
{
	if (cfg->nqmp >= CLI_MAX_QMP)
		return cli_fail(err, errlen, "%s: at most %d QMP sockets", opt, CLI_MAX_QMP);
	cfg->qmp_paths[cfg->nqmp++] = path;
	return 0;
}

static int check_server(const char *opt, const char *arg, char *err, size_t errlen)
{
	if (!sp.path)
		return cli_fail(err, errlen, "%s: no socket path in '%s'", opt, arg);
	if (!sp.server)
		return cli_fail(err, errlen, "%s: only server=on sockets are supported: '%s'", opt, arg);
	if (!sp.nowait)
		return cli_fail(err, errlen, "%s: only wait=off (nowait) is supported: '%s'", opt, arg);
	return 0;
}

int cli_opt_qmp(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (strncmp(arg, "unix:", 5) != 0 || !arg[5] || arg[5] == ',')
		return cli_fail(err, errlen, "%s: unsupported '%s' (unix:PATH,server=on,wait=off)", opt, arg);
	memset(&sp, 0, sizeof(sp));
	int ret = cli_for_each_prop(cfg, opt, arg + 5, "path", qmp_prop, err, errlen);
	if (ret == 0 && sp.id)
		ret = cli_fail(err, errlen, "%s: unsupported property 'id'", opt);
	if (ret == 0)
		ret = check_server(opt, arg, err, errlen);
	return ret < 0 ? ret : add_qmp(cfg, opt, sp.path, err, errlen);
}

int cli_opt_chardev(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	memset(&sp, 0, sizeof(sp));
	int ret = cli_for_each_prop(cfg, opt, arg, "backend", qmp_prop, err, errlen);
	if (ret < 0)
		return ret;
	if (!sp.is_socket)
		return cli_fail(err, errlen, "%s: unsupported backend in '%s' (socket)", opt, arg);
	if (!sp.id)
		return cli_fail(err, errlen, "%s: 'id' is required: '%s'", opt, arg);
	if ((ret = check_server(opt, arg, err, errlen)) < 0)
		return ret;
	for (unsigned i = 0; i < cfg->nchardevs; i++)
		if (strcmp(cfg->chardevs[i].id, sp.id) == 0)
			return cli_fail(err, errlen, "%s: duplicate id '%s'", opt, sp.id);
	if (cfg->nchardevs >= CLI_MAX_CHARDEVS)
		return cli_fail(err, errlen, "%s: at most %d character devices", opt, CLI_MAX_CHARDEVS);
	cfg->chardevs[cfg->nchardevs].id = sp.id;
	cfg->chardevs[cfg->nchardevs].path = sp.path;
	cfg->nchardevs++;
	return 0;
}

static const char *mon_ref;
static int mon_control;

static int mon_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	if (strcmp(key, "chardev") == 0 && val && *val) {
		if (!(mon_ref = cli_save_string(cfg, val)))
			return cli_fail(err, errlen, "%s: too many strings", opt);
		return 0;
	}
	if (strcmp(key, "mode") == 0 && val) {
		if (strcmp(val, "control") != 0)
			return cli_fail(err, errlen, "%s: unsupported mode '%s' (only control: QMP)", opt, val);
		mon_control = 1;
		return 0;
	}
	if (strcmp(key, "pretty") == 0 && val && strcmp(val, "off") == 0)
		return 0;
	return cli_fail(err, errlen, "%s: unsupported property '%s'", opt, key);
}

int cli_opt_mon(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	mon_ref = NULL;
	mon_control = 0;
	int ret = cli_for_each_prop(cfg, opt, arg, "chardev", mon_prop, err, errlen);
	if (ret < 0)
		return ret;
	if (!mon_ref)
		return cli_fail(err, errlen, "%s: 'chardev' is required: '%s'", opt, arg);
	if (!mon_control)
		return cli_fail(err, errlen, "%s: only mode=control (QMP) is supported: '%s'", opt, arg);
	if (cfg->nmon >= CLI_MAX_QMP)
		return cli_fail(err, errlen, "%s: at most %d monitors", opt, CLI_MAX_QMP);
	cfg->mon_refs[cfg->nmon++] = mon_ref;
	return 0;
}

int cli_opt_server_flag(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (strcmp(opt, "-daemonize") == 0)
		cfg->daemonize = 1;
	else if (strcmp(opt, "-no-shutdown") == 0)
		cfg->no_shutdown = 1;
	else if (strcmp(opt, "-nodefaults") == 0)
		cfg->nodefaults = 1;
	else if (strcmp(opt, "-S") == 0)
		cfg->start_paused = 1;
	return 0;
}

int cli_opt_pidfile(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (!*arg)
		return cli_fail(err, errlen, "%s: empty argument", opt);
	cfg->pidfile = arg;
	return 0;
}

int cli_opt_logfile(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (!*arg)
		return cli_fail(err, errlen, "%s: empty argument", opt);
	cfg->log_file = arg;
	return 0;
}

int cli_opt_loglevel(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (strcmp(arg, levels[i]) == 0) {
			cfg->log_level = i;
			return 0;
		}
	return cli_fail(err, errlen, "%s: unknown level '%s' (error, warn, info, debug)", opt, arg);
}

int cli_opt_msg(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "timestamp=on") == 0 || strcmp(arg, "timestamp") == 0)
		cfg->log_timestamps = 1;
	else if (strcmp(arg, "timestamp=off") == 0)
		cfg->log_timestamps = 0;
	else
		return cli_fail(err, errlen, "%s: unsupported '%s' (timestamp=on|off)", opt, arg);
	return 0;
}

int cli_opt_shutdown_timeout(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	unsigned long long v;
	if (cli_parse_uint(arg, 86400, &v) < 0)
		return cli_fail(err, errlen, "%s: invalid seconds '%s' (0..86400)", opt, arg);
	cfg->shutdown_timeout = (unsigned)v;
	return 0;
}

int cli_resolve_server(struct vmm_config *cfg, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->nmon; i++) {
		unsigned k;
		for (k = 0; k < cfg->nchardevs; k++)
			if (strcmp(cfg->chardevs[k].id, cfg->mon_refs[i]) == 0)
				break;
		if (k == cfg->nchardevs)
			return cli_fail(err, errlen, "-mon: chardev '%s' not found", cfg->mon_refs[i]);
		if (cfg->chardevs[k].used++)
			return cli_fail(err, errlen, "-mon: chardev '%s' is already in use", cfg->mon_refs[i]);
		int ret = add_qmp(cfg, "-mon", cfg->chardevs[k].path, err, errlen);
		if (ret < 0)
			return ret;
	}
	for (unsigned k = 0; k < cfg->nchardevs; k++)
		if (!cfg->chardevs[k].used)
			return cli_fail(err, errlen, "-chardev: '%s' is not used by any -mon", cfg->chardevs[k].id);
	/* The serial port's default follows QEMU: -nodefaults has none, and a
	 * daemon has no terminal for stdio. */
	if (!cfg->serial_set && cfg->nodefaults)
		cfg->serial = SERIAL_NONE;
	if (cfg->daemonize && cfg->serial == SERIAL_STDIO) {
		if (cfg->serial_set || cfg->nographic)
			return cli_fail(err, errlen, "-daemonize: %s cannot be used with -daemonize",
					cfg->serial_set ? "-serial stdio" : "-nographic");
		cfg->serial = SERIAL_NULL;
	}
	return 0;
}
