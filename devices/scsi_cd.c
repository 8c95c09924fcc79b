/* SCSI/MMC CD-ROM logical unit: SPC-3 (INQUIRY 6.4, REQUEST SENSE 6.27 with
 * fixed sense 4.5.3, MODE SENSE 6.9/6.10, PREVENT ALLOW 6.13, REPORT LUNS),
 * SBC-2 READ CAPACITY(10), MMC-5 (READ(10/12), READ TOC 6.33 formats 0/1,
 * GET CONFIGURATION 6.6 with profile 0x0008, GET EVENT STATUS NOTIFICATION
 * 6.7 polled media class, START STOP UNIT, capabilities page 0x2A).
 * Removable medium (MMC-6 4.7, SAM-5 5.14 unit attention): no medium is
 * NOT READY / MEDIUM NOT PRESENT, a new one reports UNIT ATTENTION / MEDIUM
 * MAY HAVE CHANGED once and a NEW MEDIA event, as QEMU's scsi-cd.
 * Guest CDBs are untrusted: every field is range-checked. */
#include "devices/scsi_cd.h"

#include <errno.h>
#include <string.h>

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

void scsi_cd_init(struct scsi_cd *cd, uint64_t size)
{
	memset(cd, 0, sizeof(*cd));
	cd->blocks = size / SCSI_CD_BLOCK;
	cd->inserted = 1;
	scsi_sense_fixed(cd->sense, SCSI_SENSE_NO_SENSE, 0, 0);
}

void scsi_cd_init_empty(struct scsi_cd *cd)
{
	scsi_cd_init(cd, 0);
	cd->inserted = 0;
	cd->tray_open = 1;
}

int scsi_cd_eject(struct scsi_cd *cd, int force)
{
	if (cd->prevent && !force) {
		cd->media_event = SCSI_MEC_EJECT_REQUEST;   /* QEMU's blk_dev_eject_request */
		return -EBUSY;
	}
	cd->tray_open = 1;
	cd->inserted = 0;
	cd->blocks = 0;
	cd->unit_attention = 0;
	cd->media_event = SCSI_MEC_MEDIA_REMOVAL;
	return 0;
}

void scsi_cd_insert(struct scsi_cd *cd, uint64_t size)
{
	cd->blocks = size / SCSI_CD_BLOCK;
	cd->inserted = 1;
	cd->tray_open = 0;
	cd->unit_attention = 1;
	cd->media_event = SCSI_MEC_NEW_MEDIA;
}

void scsi_sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc, uint8_t ascq)
{
	memset(sense, 0, SCSI_SENSE_LEN);
	sense[0] = 0x70;                 /* current error, fixed format */
	sense[2] = key & 0xf;
	sense[7] = SCSI_SENSE_LEN - 8;   /* additional sense length */
	sense[12] = asc;
	sense[13] = ascq;
}

static void check(struct scsi_cd *cd, struct scsi_cd_result *res, uint8_t key, uint8_t asc, uint8_t ascq)
{
	res->status = SCSI_STATUS_CHECK_CONDITION;
	res->data_len = 0;
	res->is_read = 0;
	scsi_sense_fixed(res->sense, key, asc, ascq);
	memcpy(cd->sense, res->sense, SCSI_SENSE_LEN);
}

void scsi_cd_read_failed(struct scsi_cd *cd, struct scsi_cd_result *res)
{
	check(cd, res, SCSI_SENSE_MEDIUM_ERROR, 0x11, 0x00);
}

/* Length of each CDB by group (SPC-3 4.3.2); 0 = reserved/vendor. */
static size_t cdb_length(uint8_t op)
{
	switch (op >> 5) {
	case 0: return 6;
	case 1: case 2: return 10;
	case 4: return 16;
	case 5: return 12;
	default: return 0;
	}
}

/* Commands that report a pending UNIT ATTENTION (SAM-5 5.14; MMC-6 lets
 * GET CONFIGURATION and GET EVENT STATUS NOTIFICATION through, as QEMU). */
static int ua_exempt(uint8_t op)
{
	return op == SCSI_INQUIRY || op == SCSI_REPORT_LUNS || op == SCSI_REQUEST_SENSE ||
	       op == SCSI_GET_CONFIGURATION || op == SCSI_GET_EVENT_STATUS;
}

/* Commands that need a readable medium (NOT READY otherwise). */
static int needs_medium(uint8_t op)
{
	return op == SCSI_TEST_UNIT_READY || op == SCSI_READ_CAPACITY_10 || op == SCSI_READ_10 ||
	       op == SCSI_READ_12 || op == SCSI_READ_TOC || op == SCSI_SEEK_10;
}

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
	lba += 150;
	p[0] = 0;
	p[1] = (uint8_t)(lba / (60 * 75));
	p[2] = (uint8_t)((lba / 75) % 60);
	p[3] = (uint8_t)(lba % 75);
}

static size_t read_toc(struct scsi_cd *cd, const uint8_t *cdb, uint8_t *b, int *bad)
{
	int msf = !!(cdb[1] & 2);
	unsigned format = cdb[2] & 0xf;
	uint32_t leadout = cd->blocks > 0xffffffffull ? 0xffffffffu : (uint32_t)cd->blocks;

	if (format == 0 && (cdb[9] >> 6))
		format = cdb[9] >> 6;  /* old ATAPI placement of the format */
	*bad = 0;
	if (format == 0) {
		if (cdb[6] > 1 && cdb[6] != 0xaa) {
			*bad = 1;
			return 0;
		}
		size_t o = 4;
		if (cdb[6] <= 1) {     /* track 1 descriptor */
			b[o + 1] = 0x14;   /* ADR 1, data track */
			b[o + 2] = 1;
			if (msf) lba_to_msf(b + o + 4, 0); else put32(b + o + 4, 0);
			o += 8;
		}
		b[o + 1] = 0x14;       /* lead-out */
		b[o + 2] = 0xaa;
		if (msf) lba_to_msf(b + o + 4, leadout); else put32(b + o + 4, leadout);
		o += 8;
		put16(b, (uint16_t)(o - 2));
		b[2] = 1;
		b[3] = 1;
		return o;
	}
	if (format == 1) {          /* session information: one session, track 1 at 0 */
		put16(b, 10);
		b[2] = 1;
		b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		if (msf) lba_to_msf(b + 8, 0); else put32(b + 8, 0);
		return 12;
	}
	*bad = 1;
	return 0;
}

static size_t get_configuration(const struct scsi_cd *cd, const uint8_t *cdb, uint8_t *b)
{
	unsigned rt = cdb[1] & 3;
	uint16_t start = be16(cdb + 2);
	uint16_t profile = scsi_cd_ready(cd) ? 0x0008 : 0;  /* no current profile without medium */
	size_t o = 8;

	/* Feature 0x0000 profile list: CD-ROM (0x0008), current. */
	if ((rt == 2 && start == 0) || (rt != 2 && start <= 0)) {
		put16(b + o, 0x0000);
		b[o + 2] = 0x03;        /* persistent, current */
		b[o + 3] = 4;
		put16(b + o + 4, 0x0008);
		b[o + 6] = profile != 0; /* current */
		o += 8;
	}
	/* 0x0001 core: physical interface standard 1 (SCSI), DBE. */
	if ((rt == 2 && start == 1) || (rt != 2 && start <= 1)) {
		put16(b + o, 0x0001);
		b[o + 2] = 0x0b;        /* version 2, persistent, current */
		b[o + 3] = 8;
		put32(b + o + 4, 1);
		b[o + 8] = 1;
		o += 12;
	}
	/* 0x0003 removable medium: tray loading mechanism, eject, lock. */
	if ((rt == 2 && start == 3) || (rt != 2 && start <= 3)) {
		put16(b + o, 0x0003);
		b[o + 2] = 0x03;
		b[o + 3] = 4;
		b[o + 4] = 0x29;        /* tray, eject, lock */
		o += 8;
	}
	/* 0x001e CD read. */
	if ((rt == 2 && start == 0x1e) || (rt != 2 && start <= 0x1e)) {
		put16(b + o, 0x001e);
		b[o + 2] = 0x0b;
		b[o + 3] = 4;
		o += 8;
	}
	put32(b, (uint32_t)(o - 4));
	put16(b + 6, profile);      /* current profile */
	return o;
}

/* Mode pages for MODE SENSE; returns the bytes written or -1 for an
 * unsupported page. */
static long mode_pages(struct scsi_cd *cd, unsigned page, uint8_t *b)
{
	long o = 0;
	if (page == 0x01 || page == 0x3f) {  /* read-write error recovery */
		b[o] = 0x01;
		b[o + 1] = 6;
		b[o + 3] = 5;  /* read retry count */
		o += 8;
	}
	if (page == 0x2a || page == 0x3f) {  /* MM capabilities and mechanical status */
		uint8_t *p = b + o;
		p[0] = 0x2a;
		p[1] = 0x14;
		p[2] = 0x3b;   /* reads CD-R, CD-RW, ... */
		p[4] = 0x71;   /* audio play, multi-session, mode 2 */
		p[5] = 0x7f;
		p[6] = 0x29 | (cd->prevent ? 0x02 : 0);  /* tray, eject, lock (state) */
		put16(p + 8, 16 * 176);   /* max read speed (obsolete) */
		put16(p + 10, 2);         /* volume levels */
		put16(p + 12, 2048);      /* buffer size */
		put16(p + 14, 16 * 176);
		o += 22;
	}
	return o ? o : -1;
}

void scsi_cd_execute(struct scsi_cd *cd, const uint8_t *cdb, size_t cdb_len,
		     uint8_t *buf, size_t buflen, struct scsi_cd_result *res)
{
	uint8_t b[256];
	size_t n = 0, alloc = 0;
	int bad = 0;

	memset(res, 0, sizeof(*res));
	memset(b, 0, sizeof(b));
	if (cdb_len == 0 || cdb_length(cdb[0]) == 0 || cdb_len < cdb_length(cdb[0])) {
		check(cd, res, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
		return;
	}
	if (cd->unit_attention && !ua_exempt(cdb[0])) {
		cd->unit_attention = 0;
		check(cd, res, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_MEDIUM_CHANGED, 0);
		return;
	}
	if (needs_medium(cdb[0]) && !scsi_cd_ready(cd)) {
		check(cd, res, SCSI_SENSE_NOT_READY, SCSI_ASC_NO_MEDIUM, cd->tray_open ? 2 : 1);
		return;
	}
	switch (cdb[0]) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_SEEK_10:
	case SCSI_SYNCHRONIZE_CACHE:
		break;
	case SCSI_REQUEST_SENSE:
		if (cd->unit_attention) {   /* REQUEST SENSE reports and clears it */
			cd->unit_attention = 0;
			scsi_sense_fixed(cd->sense, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_MEDIUM_CHANGED, 0);
		}
		memcpy(b, cd->sense, SCSI_SENSE_LEN);
		n = SCSI_SENSE_LEN;
		alloc = cdb[4];
		scsi_sense_fixed(cd->sense, SCSI_SENSE_NO_SENSE, 0, 0);
		break;
	case SCSI_INQUIRY:
		alloc = be16(cdb + 3);
		if (cdb[1] & 1) {       /* VPD: only the supported-pages page */
			if (cdb[2] != 0) {
				bad = 1;
				break;
			}
			b[0] = 0x05;
			b[3] = 1;
			b[4] = 0x00;
			n = 5;
		} else if (cdb[2]) {
			bad = 1;
		} else {
			b[0] = 0x05;        /* peripheral device type: CD/DVD */
			b[1] = 0x80;        /* removable */
			b[2] = 0x05;        /* SPC-3 */
			b[3] = 0x02;        /* response data format 2 */
			b[4] = 36 - 5;
			b[7] = 0x10;        /* sync (harmless; as QEMU) */
			memcpy(b + 8, "VMM     ", 8);
			memcpy(b + 16, "VMM CD-ROM      ", 16);
			memcpy(b + 32, "1.0 ", 4);
			n = 36;
		}
		break;
	case SCSI_START_STOP_UNIT:
		/* LoEj with Start clear ejects: refused while removal is prevented. */
		if ((cdb[4] & 3) == 2 && cd->prevent) {
			check(cd, res, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_REMOVAL_PREVENTED, 0x02);
			return;
		}
		if (cdb[4] & 2) {           /* LoEj: Start 0 opens the tray, 1 closes it */
			int open = !(cdb[4] & 1);
			if (open != cd->tray_open) {
				cd->tray_open = open;
				cd->tray_moved = 1;
				if (cd->tray_cb)
					cd->tray_cb(cd->tray_opaque, open);
				if (!open && cd->inserted) {
					cd->unit_attention = 1;
					cd->media_event = SCSI_MEC_NEW_MEDIA;
				}
			}
		}
		break;
	case SCSI_PREVENT_ALLOW:
		cd->prevent = cdb[4] & 1;
		break;
	case SCSI_READ_CAPACITY_10: {
		uint64_t last = cd->blocks ? cd->blocks - 1 : 0;
		put32(b, last > 0xffffffffull ? 0xffffffffu : (uint32_t)last);
		put32(b + 4, SCSI_CD_BLOCK);
		n = 8;
		alloc = 8;
		break;
	}
	case SCSI_READ_10:
	case SCSI_READ_12: {
		uint64_t lba = be32(cdb + 2);
		uint64_t count = cdb[0] == SCSI_READ_10 ? be16(cdb + 7) : be32(cdb + 6);
		if (lba > cd->blocks || count > cd->blocks - lba) {
			check(cd, res, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);
			return;
		}
		res->is_read = count != 0;
		res->read_off = lba * SCSI_CD_BLOCK;
		res->read_len = count * SCSI_CD_BLOCK;
		res->status = SCSI_STATUS_GOOD;
		return;
	}
	case SCSI_READ_TOC:
		alloc = be16(cdb + 7);
		n = read_toc(cd, cdb, b, &bad);
		break;
	case SCSI_GET_CONFIGURATION:
		alloc = be16(cdb + 7);
		if ((cdb[1] & 3) == 3)
			bad = 1;
		else
			n = get_configuration(cd, cdb, b);
		break;
	case SCSI_GET_EVENT_STATUS:
		alloc = be16(cdb + 7);
		if (!(cdb[1] & 1)) {    /* only polled operation */
			bad = 1;
			break;
		}
		if (cdb[4] & 0x10) {    /* media class (MMC-6 6.7.2.4) */
			put16(b, 6);
			b[2] = 0x04;
			b[3] = 0x10;
			b[4] = cd->media_event;
			b[5] = (uint8_t)((cd->tray_open ? 0x01 : 0) | (scsi_cd_ready(cd) ? 0x02 : 0));
			cd->media_event = SCSI_MEC_NO_CHANGE;
			n = 8;
		} else {
			put16(b, 2);
			b[2] = 0x80;        /* no event available */
			b[3] = 0x10;
			n = 4;
		}
		break;
	case SCSI_MODE_SENSE_6:
	case SCSI_MODE_SENSE_10: {
		int ten = cdb[0] == SCSI_MODE_SENSE_10;
		size_t hdr = ten ? 8 : 4;
		if ((cdb[2] >> 6) == 3) {
			check(cd, res, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_PARAMS, 0);
			return;
		}
		long pl = mode_pages(cd, cdb[2] & 0x3f, b + hdr);
		if (pl < 0) {
			bad = 1;
			break;
		}
		n = hdr + (size_t)pl;
		if (ten) {
			put16(b, (uint16_t)(n - 2));
			b[2] = 0x70;        /* medium type: door closed, no disc info (as QEMU) */
			alloc = be16(cdb + 7);
		} else {
			b[0] = (uint8_t)(n - 1);
			b[1] = 0x70;
			alloc = cdb[4];
		}
		break;
	}
	case SCSI_REPORT_LUNS:
		put32(b, 8);            /* one LUN: 0 */
		n = 16;
		alloc = be32(cdb + 6);
		if (alloc < 16) {
			bad = 1;
			n = 0;
		}
		break;
	default:
		check(cd, res, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
		return;
	}
	if (bad) {
		check(cd, res, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD, 0);
		return;
	}
	if (n > alloc)
		n = alloc;
	if (n > buflen)
		n = buflen;
	memcpy(buf, b, n);
	res->data_len = n;
	res->status = SCSI_STATUS_GOOD;
}
