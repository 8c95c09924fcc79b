/* Storage and network options with QEMU's spelling (qemu-system-x86_64(1)
 * "Block device options" -drive/-hda/-cdrom, "Network options" -netdev tap,
 * -nic; -device virtio-blk-pci / virtio-net-pci properties as `-device
 * DRIVER,help` lists them). Pure parsing into struct vmm_config; the
 * machine opens the files and taps. References (drive=, netdev=) are bound
 * after the whole command line, as QEMU creates back-ends before devices. */
#include "vmm/cli.h"
#include "vmm/cli_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int parse_onoff(const char *val, int *out)
{
	if (!val || !strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false")) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

static int save(struct vmm_config *cfg, const char *opt, const char *val, const char **out,
		char *err, size_t errlen)
{
	*out = cli_save_string(cfg, val);
	return *out ? 0 : cli_fail(err, errlen, "%s: too many option values", opt);
}

/* id=VAL of a -drive or -netdev: non-empty and not taken already (what: "drive"). */
static int save_id(struct vmm_config *cfg, const char *opt, const char *val, bool taken,
		   const char *what, const char **out, char *err, size_t errlen)
{
	if (!*val)
		return cli_fail(err, errlen, "%s: empty id", opt);
	if (taken)
		return cli_fail(err, errlen, "%s: duplicate %s id '%s'", opt, what, val);
	return save(cfg, opt, val, out, err, errlen);
}

/* ---- drives ----------------------------------------------------------------- */

static struct cli_drive *drive_find(struct vmm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (cfg->drives[i].id && strcmp(cfg->drives[i].id, id) == 0)
			return &cfg->drives[i];
	return NULL;
}

static int drive_prop(struct vmm_config *cfg, const char *opt, const char *key,
		      const char *val, char *err, size_t errlen)
{
	struct cli_drive *d = &cfg->drives[cfg->ndrives];
	if (!val && strcmp(key, "readonly") != 0 && strcmp(key, "snapshot") != 0)
		return cli_fail(err, errlen, "%s: '%s' needs a value (%s=...)", opt, key, key);
	if (!strcmp(key, "file")) {
		if (!*val)
			return cli_fail(err, errlen, "%s: empty file name", opt);
		return save(cfg, opt, val, &d->file, err, errlen);
	}
	if (!strcmp(key, "if")) {
		if (!strcmp(val, "virtio") || !strcmp(val, "ide"))
			d->iface = CLI_IF_VIRTIO;     /* IDE disks become virtio-blk here */
		else if (!strcmp(val, "none"))
			d->iface = CLI_IF_NONE;
		else
			return cli_fail(err, errlen, "%s: unsupported interface 'if=%s' (virtio, none)", opt, val);
		return 0;
	}
	if (!strcmp(key, "format")) {
		if (strcmp(val, "raw") && strcmp(val, "qcow2"))
			return cli_fail(err, errlen, "%s: unsupported format '%s' (raw, qcow2)", opt, val);
		return save(cfg, opt, val, &d->format, err, errlen);
	}
	if (!strcmp(key, "id"))
		return save_id(cfg, opt, val, drive_find(cfg, val) != NULL, "drive", &d->id, err, errlen);
	if (!strcmp(key, "cache")) {
		static const struct { const char *name; enum cli_cache mode; } modes[] = {
			{ "writeback", CLI_CACHE_WRITEBACK }, { "writethrough", CLI_CACHE_WRITETHROUGH },
			{ "none", CLI_CACHE_NONE }, { "directsync", CLI_CACHE_DIRECTSYNC },
			{ "unsafe", CLI_CACHE_UNSAFE },
		};
		for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (!strcmp(val, modes[i].name)) {
				d->cache = modes[i].mode;
				return 0;
			}
		return cli_fail(err, errlen, "%s: invalid cache mode '%s' (writeback, writethrough, none, directsync, unsafe)",
				opt, val);
	}
	if (!strcmp(key, "readonly")) {
		if (parse_onoff(val, &d->read_only) < 0)
			return cli_fail(err, errlen, "%s: invalid readonly value '%s' (on, off)", opt, val);
		return 0;
	}
	if (!strcmp(key, "snapshot")) {
		if (parse_onoff(val, &d->snapshot) < 0)
			return cli_fail(err, errlen, "%s: invalid snapshot value '%s' (on, off)", opt, val);
		return 0;
	}
	if (!strcmp(key, "serial"))
		return save(cfg, opt, val, &d->serial, err, errlen);
	if (!strcmp(key, "media")) {
		if (!strcmp(val, "disk"))
			d->media = CLI_MEDIA_DISK;
		else if (!strcmp(val, "cdrom"))
			d->media = CLI_MEDIA_CDROM;
		else
			return cli_fail(err, errlen, "%s: invalid media '%s' (disk, cdrom)", opt, val);
		return 0;
	}
	/* Accepted for compatibility, no effect: the engine picks io_uring
	 * itself, discards always reach the file, index/bus/unit place IDE
	 * disks that are virtio here. */
	if (!strcmp(key, "aio") || !strcmp(key, "discard") || !strcmp(key, "index") ||
	    !strcmp(key, "bus") || !strcmp(key, "unit") || !strcmp(key, "detect-zeroes"))
		return 0;
	return cli_fail(err, errlen, "%s: unsupported property '%s'", opt, key);
}

static int add_blk(struct vmm_config *cfg, const char *opt, unsigned drive, char *err, size_t errlen)
{
	if (cfg->nblk >= CLI_MAX_BLK)
		return cli_fail(err, errlen, "%s: at most %d virtio-blk devices", opt, CLI_MAX_BLK);
	struct cli_blk *b = &cfg->blk[cfg->nblk++];
	memset(b, 0, sizeof(*b));
	b->drive = drive;
	cfg->drives[drive].users++;
	return 0;
}

/* Takes the drive being built at drives[ndrives]: checks it and adds it. */
static int drive_commit(struct vmm_config *cfg, const char *opt, char *err, size_t errlen)
{
	struct cli_drive *d = &cfg->drives[cfg->ndrives];
	if (!d->file)
		return cli_fail(err, errlen, "%s: file= is required", opt);
	unsigned idx = cfg->ndrives++;
	if (d->iface == CLI_IF_VIRTIO && d->media == CLI_MEDIA_DISK)
		return add_blk(cfg, opt, idx, err, errlen);
	return 0;
}

static struct cli_drive *drive_start(struct vmm_config *cfg, const char *opt, char *err, size_t errlen)
{
	if (cfg->ndrives >= CLI_MAX_DRIVES) {
		cli_fail(err, errlen, "%s: at most %d drives", opt, CLI_MAX_DRIVES);
		return NULL;
	}
	struct cli_drive *d = &cfg->drives[cfg->ndrives];
	memset(d, 0, sizeof(*d));
	d->snapshot = -1;
	d->opt = opt[1] == 'd' ? "-drive" : opt[1] == 'c' ? "-cdrom" :
		 !strcmp(opt, "-hda") ? "-hda" : !strcmp(opt, "-hdb") ? "-hdb" :
		 !strcmp(opt, "-hdc") ? "-hdc" : "-hdd";
	return d;
}

int cli_opt_drive(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (!drive_start(cfg, opt, err, errlen))
		return -EINVAL;
	int ret = cli_for_each_prop(cfg, opt, arg, NULL, drive_prop, err, errlen);
	return ret < 0 ? ret : drive_commit(cfg, opt, err, errlen);
}

/* -hdX FILE and -cdrom FILE: a drive of that medium on FILE. */
static int drive_file(struct vmm_config *cfg, const char *opt, const char *arg, enum cli_media media,
		      char *err, size_t errlen)
{
	struct cli_drive *d = drive_start(cfg, opt, err, errlen);
	if (!d)
		return -EINVAL;
	if (!*arg)
		return cli_fail(err, errlen, "%s: empty argument", opt);
	d->file = arg;
	if (media == CLI_MEDIA_CDROM) {
		d->media = CLI_MEDIA_CDROM;
		d->read_only = 1;
	}
	return drive_commit(cfg, opt, err, errlen);
}

/* -hda FILE .. -hdd FILE: QEMU's IDE disks, a virtio-blk disk each here. */
int cli_opt_hdx(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	return drive_file(cfg, opt, arg, CLI_MEDIA_DISK, err, errlen);
}

int cli_opt_cdrom(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	return drive_file(cfg, opt, arg, CLI_MEDIA_CDROM, err, errlen);
}

/* ---- virtio-blk-pci --------------------------------------------------------- */

static int blk_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	struct cli_blk *b = &cfg->blk[cfg->nblk];
	unsigned long long n;
	if (!val)
		return cli_virtio_pci_prop(cfg, opt, key, val, err, errlen);
	if (!strcmp(key, "drive"))
		return save(cfg, opt, val, &b->drive_ref, err, errlen);
	if (!strcmp(key, "serial"))
		return save(cfg, opt, val, &b->serial, err, errlen);
	if (!strcmp(key, "num-queues")) {
		if (cli_parse_uint(val, CLI_MAX_BLK_QUEUES, &n) < 0 || n == 0)
			return cli_fail(err, errlen, "%s: virtio-blk-pci: invalid num-queues '%s' (1..%d)",
					opt, val, CLI_MAX_BLK_QUEUES);
		b->num_queues = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "queue-size")) {
		if (cli_parse_uint(val, 1024, &n) < 0 || n < 2 || (n & (n - 1)))
			return cli_fail(err, errlen, "%s: virtio-blk-pci: invalid queue-size '%s' (a power of 2, 2..1024)",
					opt, val);
		b->queue_size = (unsigned)n;
		return 0;
	}
	return cli_virtio_pci_prop(cfg, opt, key, val, err, errlen);
}

int cli_dev_virtio_blk(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (cfg->nblk >= CLI_MAX_BLK)
		return cli_fail(err, errlen, "%s: at most %d virtio-blk devices", opt, CLI_MAX_BLK);
	memset(&cfg->blk[cfg->nblk], 0, sizeof(cfg->blk[0]));
	int ret = cli_for_each_prop(cfg, opt, arg, NULL, blk_prop, err, errlen);
	if (ret < 0)
		return ret;
	if (!cfg->blk[cfg->nblk].drive_ref)
		return cli_fail(err, errlen, "%s: virtio-blk-pci: drive= is required", opt);
	cfg->nblk++;
	return 0;
}

/* ---- networks ----------------------------------------------------------------- */

static struct cli_netdev *netdev_find(struct vmm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nnetdevs; i++)
		if (strcmp(cfg->netdevs[i].id, id) == 0)
			return &cfg->netdevs[i];
	return NULL;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)          /* a multicast address is no station address */
		return -EINVAL;
	return 0;
}

/* Properties of -netdev tap and -nic tap. */
static int tap_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	struct cli_netdev *nd = &cfg->netdevs[cfg->nnetdevs];
	unsigned long long n;
	if (!strcmp(key, "type")) {
		if (!val || strcmp(val, "tap") != 0)
			return cli_fail(err, errlen, "%s: unsupported network backend '%s' (only 'tap')",
					opt, val ? val : "");
		return 0;
	}
	if (!val)
		return cli_fail(err, errlen, "%s: '%s' needs a value (%s=...)", opt, key, key);
	if (!strcmp(key, "id"))
		return save_id(cfg, opt, val, netdev_find(cfg, val) != NULL, "netdev", &nd->id, err, errlen);
	if (!strcmp(key, "ifname")) {
		if (!*val || strlen(val) >= 16)
			return cli_fail(err, errlen, "%s: invalid tap name '%s' (1..15 characters)", opt, val);
		return save(cfg, opt, val, &nd->ifname, err, errlen);
	}
	if (!strcmp(key, "script") || !strcmp(key, "downscript")) {
		if (*val && strcmp(val, "no") != 0)
			return cli_fail(err, errlen, "%s: %s=%s: vmm runs no scripts (use %s=no and set the tap up beforehand)",
					opt, key, val, key);
		return 0;
	}
	if (!strcmp(key, "queues")) {
		if (cli_parse_uint(val, CLI_MAX_NET_QUEUES, &n) < 0 || n == 0)
			return cli_fail(err, errlen, "%s: invalid queues '%s' (1..%d)", opt, val, CLI_MAX_NET_QUEUES);
		nd->queues = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "vhost")) {
		int on;
		if (parse_onoff(val, &on) < 0 || on)
			return cli_fail(err, errlen, "%s: vhost=%s: vhost-net is not supported (vhost=off)", opt, val);
		return 0;
	}
	return cli_fail(err, errlen, "%s: unsupported tap property '%s'", opt, key);
}

static int netdev_commit(struct vmm_config *cfg, const char *opt, char *err, size_t errlen)
{
	struct cli_netdev *nd = &cfg->netdevs[cfg->nnetdevs];
	if (!nd->id)
		return cli_fail(err, errlen, "%s: id= is required", opt);
	if (!nd->queues)
		nd->queues = 1;
	cfg->nnetdevs++;
	return 0;
}

static int netdev_start(struct vmm_config *cfg, const char *opt, char *err, size_t errlen)
{
	if (cfg->nnetdevs >= CLI_MAX_NETDEVS)
		return cli_fail(err, errlen, "%s: at most %d network back-ends", opt, CLI_MAX_NETDEVS);
	memset(&cfg->netdevs[cfg->nnetdevs], 0, sizeof(cfg->netdevs[0]));
	return 0;
}

int cli_opt_netdev(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	int ret = netdev_start(cfg, opt, err, errlen);
	if (ret == 0)
		ret = cli_for_each_prop(cfg, opt, arg, "type", tap_prop, err, errlen);
	return ret < 0 ? ret : netdev_commit(cfg, opt, err, errlen);
}

static int nic_start(struct vmm_config *cfg, const char *opt, char *err, size_t errlen)
{
	if (cfg->nnics >= CLI_MAX_NICS)
		return cli_fail(err, errlen, "%s: at most %d virtio-net devices", opt, CLI_MAX_NICS);
	memset(&cfg->nics[cfg->nnics], 0, sizeof(cfg->nics[0]));
	return 0;
}

/* -nic tap,...: a netdev and its virtio-net-pci in one option. */
static int nic_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	struct cli_nic *nic = &cfg->nics[cfg->nnics];
	if (val && !strcmp(key, "model")) {
		if (strcmp(val, "virtio-net-pci") && strcmp(val, "virtio"))
			return cli_fail(err, errlen, "%s: unsupported model '%s' (virtio-net-pci)", opt, val);
		return 0;
	}
	if (val && !strcmp(key, "mac")) {
		if (parse_mac(val, nic->mac) < 0)
			return cli_fail(err, errlen, "%s: invalid MAC address '%s'", opt, val);
		nic->has_mac = 1;
		return 0;
	}
	return tap_prop(cfg, opt, key, val, err, errlen);
}

int cli_opt_nic(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	if (!strcmp(arg, "none"))
		return 0;       /* QEMU: no network at all, which is our default */
	int ret = netdev_start(cfg, opt, err, errlen);
	if (ret == 0)
		ret = nic_start(cfg, opt, err, errlen);
	if (ret == 0)
		ret = cli_for_each_prop(cfg, opt, arg, "type", nic_prop, err, errlen);
	if (ret < 0)
		return ret;
	struct cli_netdev *nd = &cfg->netdevs[cfg->nnetdevs];
	if (!nd->id) {
		char id[16];
		snprintf(id, sizeof(id), "__nic%u", cfg->nnics);
		if ((ret = save(cfg, opt, id, &nd->id, err, errlen)) < 0)
			return ret;
	}
	struct cli_nic *nic = &cfg->nics[cfg->nnics];
	nic->netdev = cfg->nnetdevs;
	nic->mq = nd->queues > 1;
	ret = netdev_commit(cfg, opt, err, errlen);
	if (ret < 0)
		return ret;
	cfg->netdevs[nic->netdev].users = 1;
	cfg->nnics++;
	return 0;
}

static int net_prop(struct vmm_config *cfg, const char *opt, const char *key,
		    const char *val, char *err, size_t errlen)
{
	struct cli_nic *nic = &cfg->nics[cfg->nnics];
	if (!val)
		return cli_virtio_pci_prop(cfg, opt, key, val, err, errlen);
	if (!strcmp(key, "netdev"))
		return save(cfg, opt, val, &nic->netdev_ref, err, errlen);
	if (!strcmp(key, "mac")) {
		if (parse_mac(val, nic->mac) < 0)
			return cli_fail(err, errlen, "%s: virtio-net-pci: invalid MAC address '%s'", opt, val);
		nic->has_mac = 1;
		return 0;
	}
	if (!strcmp(key, "mq")) {
		if (parse_onoff(val, &nic->mq) < 0)
			return cli_fail(err, errlen, "%s: virtio-net-pci: invalid mq value '%s' (on, off)", opt, val);
		return 0;
	}
	if (!strcmp(key, "vectors"))
		return 0;       /* MSI-X vectors follow the queue count here */
	return cli_virtio_pci_prop(cfg, opt, key, val, err, errlen);
}

int cli_dev_virtio_net(struct vmm_config *cfg, const char *opt, const char *arg, char *err, size_t errlen)
{
	int ret = nic_start(cfg, opt, err, errlen);
	if (ret == 0)
		ret = cli_for_each_prop(cfg, opt, arg, NULL, net_prop, err, errlen);
	if (ret < 0)
		return ret;
	if (!cfg->nics[cfg->nnics].netdev_ref)
		return cli_fail(err, errlen, "%s: virtio-net-pci: netdev= is required", opt);
	cfg->nnics++;
	return 0;
}

/* ---- references ----------------------------------------------------------------- */

/* A -device's what=ref (users: the found back-end's user count, NULL when
 * none has that id) must name an unused back-end. */
static int ref_check(const char *dev, const char *what, const char *ref, const int *users,
		     char *err, size_t errlen)
{
	if (!users)
		return cli_fail(err, errlen, "-device %s: %s '%s' not found", dev, what, ref);
	if (*users)
		return cli_fail(err, errlen, "-device %s: %s '%s' is already in use", dev, what, ref);
	return 0;
}

int cli_resolve_devices(struct vmm_config *cfg, char *err, size_t errlen)
{
	/* QEMU's -snapshot / snapshot=: the drive's own value wins; nothing is
	 * ever written to a read-only drive or a CD, so they get no overlay. */
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		struct cli_drive *d = &cfg->drives[i];
		if (d->snapshot < 0)
			d->snapshot = cfg->snapshot;
		if (d->read_only || d->media == CLI_MEDIA_CDROM)
			d->snapshot = 0;
	}
	for (unsigned i = 0; i < cfg->nblk; i++) {
		struct cli_blk *b = &cfg->blk[i];
		if (!b->drive_ref)
			continue;
		struct cli_drive *d = drive_find(cfg, b->drive_ref);
		int ret = ref_check("virtio-blk-pci", "drive", b->drive_ref, d ? &d->users : NULL, err, errlen);
		if (ret < 0)
			return ret;
		if (d->media == CLI_MEDIA_CDROM)
			return cli_fail(err, errlen, "-device virtio-blk-pci: drive '%s' is a CD-ROM", b->drive_ref);
		d->users++;
		b->drive = (unsigned)(d - cfg->drives);
		b->drive_ref = NULL;
	}
	for (unsigned i = 0; i < cfg->nnics; i++) {
		struct cli_nic *nic = &cfg->nics[i];
		if (!nic->netdev_ref)
			continue;
		struct cli_netdev *nd = netdev_find(cfg, nic->netdev_ref);
		int ret = ref_check("virtio-net-pci", "netdev", nic->netdev_ref, nd ? &nd->users : NULL, err, errlen);
		if (ret < 0)
			return ret;
		if (nd->queues > 1 && !nic->mq)
			return cli_fail(err, errlen, "-device virtio-net-pci: netdev '%s' has %u queues: add mq=on",
					nic->netdev_ref, nd->queues);
		nd->users++;
		nic->netdev = (unsigned)(nd - cfg->netdevs);
		nic->netdev_ref = NULL;
	}
	return 0;
}
