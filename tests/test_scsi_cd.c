/* Unit test of the CD-ROM logical unit (devices/scsi_cd.c): each command's
 * response bytes (INQUIRY, READ CAPACITY, READ TOC 0/1 LBA and MSF, GET
 * CONFIGURATION, MODE SENSE 6/10, GET EVENT STATUS, REQUEST SENSE, REPORT
 * LUNS), READ range checks and the sense of every refused command; media
 * changes: eject (refused while locked unless forced), NOT READY without a
 * medium, UNIT ATTENTION once after an insert, media events, guest tray. */
#include "devices/scsi_cd.h"

#include <errno.h>
#include "tests/check.h"

static struct scsi_cd cd;
static struct scsi_cd_result res;
static uint8_t buf[512];

static void run(const uint8_t *cdb, size_t len)
{
	memset(buf, 0xee, sizeof(buf));
	scsi_cd_execute(&cd, cdb, len, buf, sizeof(buf), &res);
}

static void expect_sense(uint8_t key, uint8_t asc, uint8_t ascq)
{
	CHECK_EQ(res.status, SCSI_STATUS_CHECK_CONDITION);
	CHECK_EQ(res.sense[0], 0x70);
	CHECK_EQ(res.sense[2], key);
	CHECK_EQ(res.sense[7], 10);
	CHECK_EQ(res.sense[12], asc);
	CHECK_EQ(res.sense[13], ascq);
	CHECK_EQ(res.data_len, 0);
	CHECK_EQ(res.is_read, 0);
}

static void expect_event(uint8_t code, uint8_t status)
{
	uint8_t gesn[10] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0 };
	run(gesn, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.data_len, 8);
	CHECK_EQ(buf[2], 0x04);    /* media class, NEA clear */
	CHECK_EQ(buf[4], code);
	CHECK_EQ(buf[5], status);
}

/* Host media changes as QMP eject / blockdev-change-medium make them. */
static void test_media(void)
{
	uint8_t tur[6] = { 0x00 }, inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t cap[10] = { 0x25 }, rs[6] = { 0x03, 0, 0, 0, 18, 0 };
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 9, 0, 0, 1, 0 };
	uint8_t pa[6] = { 0x1e, 0, 0, 0, 1, 0 };

	scsi_cd_init(&cd, 50 * 2048);
	expect_event(SCSI_MEC_NO_CHANGE, 0x02);
	/* locked: eject refused, an eject request is reported to the guest */
	run(pa, 6);
	CHECK_EQ(scsi_cd_eject(&cd, 0), -EBUSY);
	CHECK(scsi_cd_ready(&cd));
	expect_event(SCSI_MEC_EJECT_REQUEST, 0x02);
	expect_event(SCSI_MEC_NO_CHANGE, 0x02);
	run(tur, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	/* forced: tray open, no medium */
	CHECK_EQ(scsi_cd_eject(&cd, 1), 0);
	CHECK(!scsi_cd_ready(&cd));
	CHECK_EQ(cd.tray_open, 1);
	run(tur, 6);
	expect_sense(SCSI_SENSE_NOT_READY, SCSI_ASC_NO_MEDIUM, 2);
	run(r10, 10);
	expect_sense(SCSI_SENSE_NOT_READY, SCSI_ASC_NO_MEDIUM, 2);
	run(cap, 10);
	expect_sense(SCSI_SENSE_NOT_READY, SCSI_ASC_NO_MEDIUM, 2);
	run(rs, 6);                 /* REQUEST SENSE returns the last sense */
	CHECK_EQ(res.data_len, 18);
	CHECK_EQ(buf[2], SCSI_SENSE_NOT_READY);
	CHECK_EQ(buf[12], SCSI_ASC_NO_MEDIUM);
	run(inq, 6);                /* INQUIRY works without a medium */
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	expect_event(SCSI_MEC_MEDIA_REMOVAL, 0x01);
	uint8_t gc[10] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64, 0 };
	run(gc, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(buf[6] << 8 | buf[7], 0);   /* no current profile */

	/* a new medium of 80 blocks: UNIT ATTENTION once, then the new capacity */
	scsi_cd_insert(&cd, 80 * 2048);
	run(inq, 6);                /* exempt: does not consume it */
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	expect_event(SCSI_MEC_NEW_MEDIA, 0x02);
	run(gc, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(buf[6] << 8 | buf[7], 8);
	run(tur, 6);
	expect_sense(SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_MEDIUM_CHANGED, 0);
	run(tur, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	run(cap, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(buf[3], 79);
	r10[5] = 79;
	run(r10, 10);
	CHECK_EQ(res.is_read, 1);
	CHECK_EQ(res.read_off, 79 * 2048);
	r10[5] = 80;
	run(r10, 10);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);

	/* REQUEST SENSE reports and clears a pending UNIT ATTENTION */
	scsi_cd_insert(&cd, 10 * 2048);
	run(rs, 6);
	CHECK_EQ(buf[2], SCSI_SENSE_UNIT_ATTENTION);
	CHECK_EQ(buf[12], SCSI_ASC_MEDIUM_CHANGED);
	run(tur, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);

	/* the guest opens the tray (prevent still set from above: refused) */
	uint8_t ssu[6] = { 0x1b, 0, 0, 0, 0x02, 0 };
	run(ssu, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_REMOVAL_PREVENTED, 0x02);
	pa[4] = 0;
	run(pa, 6);
	cd.tray_moved = 0;
	run(ssu, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(cd.tray_open, 1);
	CHECK_EQ(cd.tray_moved, 1);
	CHECK_EQ(cd.inserted, 1);   /* the medium stays on the open tray */
	run(tur, 6);
	expect_sense(SCSI_SENSE_NOT_READY, SCSI_ASC_NO_MEDIUM, 2);
	ssu[4] = 0x03;              /* load: tray closes, medium readable again */
	run(ssu, 6);
	CHECK_EQ(cd.tray_open, 0);
	run(tur, 6);
	expect_sense(SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_MEDIUM_CHANGED, 0);
	run(tur, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);

	/* an empty drive (tray open) and an insert into it */
	scsi_cd_init_empty(&cd);
	run(tur, 6);
	expect_sense(SCSI_SENSE_NOT_READY, SCSI_ASC_NO_MEDIUM, 2);
	CHECK_EQ(scsi_cd_eject(&cd, 0), 0);
	scsi_cd_insert(&cd, 4096);
	run(tur, 6);
	expect_sense(SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_MEDIUM_CHANGED, 0);
	run(cap, 10);
	CHECK_EQ(buf[3], 1);
}

int main(void)
{
	/* 100 blocks plus a partial one (ignored) */
	scsi_cd_init(&cd, 100 * 2048 + 100);
	CHECK_EQ(cd.blocks, 100);

	uint8_t tur[6] = { 0x00 };
	run(tur, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.data_len, 0);

	uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	run(inq, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.data_len, 36);
	CHECK_EQ(buf[0], 0x05);    /* CD/DVD device */
	CHECK_EQ(buf[1], 0x80);    /* removable */
	CHECK_EQ(buf[2], 0x05);
	CHECK_EQ(buf[3], 0x02);
	CHECK_EQ(buf[4], 31);
	CHECK_MEM(buf + 8, "VMM     VMM CD-ROM      1.0 ", 28);
	inq[4] = 5;                 /* allocation length truncates */
	run(inq, 6);
	CHECK_EQ(res.data_len, 5);
	CHECK_EQ(buf[5], 0xee);
	uint8_t vpd[6] = { 0x12, 1, 0, 0, 255, 0 };
	run(vpd, 6);
	CHECK_EQ(res.data_len, 5);
	CHECK_EQ(buf[3], 1);
	vpd[2] = 0x83;
	run(vpd, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD, 0);

	uint8_t cap[10] = { 0x25 };
	run(cap, 10);
	CHECK_EQ(res.data_len, 8);
	uint8_t cap_want[8] = { 0, 0, 0, 99, 0, 0, 8, 0 };
	CHECK_MEM(buf, cap_want, 8);

	/* READ(10) at LBA 98 for 2 blocks: fits; 3 blocks: out of range */
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 98, 0, 0, 2, 0 };
	run(r10, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.is_read, 1);
	CHECK_EQ(res.read_off, 98 * 2048);
	CHECK_EQ(res.read_len, 2 * 2048);
	r10[8] = 3;
	run(r10, 10);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);
	/* REQUEST SENSE returns it once, then NO SENSE */
	uint8_t rs[6] = { 0x03, 0, 0, 0, 252, 0 };
	run(rs, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.data_len, 18);
	CHECK_EQ(buf[0], 0x70);
	CHECK_EQ(buf[2], SCSI_SENSE_ILLEGAL_REQUEST);
	CHECK_EQ(buf[12], SCSI_ASC_LBA_OUT_OF_RANGE);
	run(rs, 6);
	CHECK_EQ(buf[2], 0);
	CHECK_EQ(buf[12], 0);
	/* READ(12) with a huge count and an LBA past the end */
	uint8_t r12[12] = { 0xa8, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0 };
	run(r12, 12);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);
	uint8_t r12b[12] = { 0xa8, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0 };
	run(r12b, 12);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);
	uint8_t r12c[12] = { 0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0 };
	run(r12c, 12);
	CHECK_EQ(res.is_read, 1);
	CHECK_EQ(res.read_len, 100 * 2048);
	/* zero blocks: GOOD, nothing to read */
	uint8_t r0[10] = { 0x28, 0, 0, 0, 0, 100, 0, 0, 0, 0 };
	run(r0, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.is_read, 0);

	/* READ TOC format 0, LBA: track 1 at 0, lead-out at 100 */
	uint8_t toc[10] = { 0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0 };
	run(toc, 10);
	CHECK_EQ(res.data_len, 20);
	uint8_t toc_want[20] = { 0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xaa, 0, 0, 0, 0, 100 };
	CHECK_MEM(buf, toc_want, 20);
	/* MSF: lead-out 100 + 150 = 250 frames = 00:03:25 */
	toc[1] = 2;
	run(toc, 10);
	uint8_t msf_want[4] = { 0, 0, 3, 25 };
	CHECK_MEM(buf + 16, msf_want, 4);
	CHECK_MEM(buf + 8, ((uint8_t[]){ 0, 0, 2, 0 }), 4);
	/* format 1: session info */
	uint8_t toc1[10] = { 0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0 };
	run(toc1, 10);
	CHECK_EQ(res.data_len, 12);
	uint8_t s_want[12] = { 0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0 };
	CHECK_MEM(buf, s_want, 12);
	/* format 2 (full TOC) not supported */
	toc1[2] = 2;
	run(toc1, 10);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD, 0);

	/* GET CONFIGURATION: header with current profile CD-ROM, profile list */
	uint8_t gc[10] = { 0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0 };
	run(gc, 10);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	CHECK_EQ(res.data_len, 8 + 8 + 12 + 8 + 8);
	CHECK_EQ(buf[3], res.data_len - 4);
	CHECK_EQ(buf[6] << 8 | buf[7], 0x0008);
	CHECK_EQ(buf[8] << 8 | buf[9], 0x0000);
	CHECK_EQ(buf[12] << 8 | buf[13], 0x0008);
	CHECK_EQ(buf[14], 1);
	CHECK_EQ(buf[16] << 8 | buf[17], 0x0001);
	/* RT=2: only the named feature (0x0003) */
	uint8_t gc2[10] = { 0x46, 2, 0, 3, 0, 0, 0, 0x01, 0x00, 0 };
	run(gc2, 10);
	CHECK_EQ(res.data_len, 16);
	CHECK_EQ(buf[8] << 8 | buf[9], 0x0003);
	/* header only (allocation length 8) */
	gc[8] = 8;
	gc[7] = 0;
	run(gc, 10);
	CHECK_EQ(res.data_len, 8);

	/* GET EVENT STATUS NOTIFICATION, polled, media class */
	uint8_t ge[10] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0 };
	run(ge, 10);
	uint8_t ge_want[8] = { 0, 6, 0x04, 0x10, 0, 0x02, 0, 0 };
	CHECK_EQ(res.data_len, 8);
	CHECK_MEM(buf, ge_want, 8);
	ge[4] = 0x02;   /* operational class only: no event available */
	run(ge, 10);
	CHECK_EQ(res.data_len, 4);
	CHECK_EQ(buf[2], 0x80);
	ge[1] = 0;      /* asynchronous: refused */
	run(ge, 10);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD, 0);

	/* MODE SENSE(10) page 0x2A and (6) all pages */
	uint8_t ms10[10] = { 0x5a, 0x08, 0x2a, 0, 0, 0, 0, 0, 255, 0 };
	run(ms10, 10);
	CHECK_EQ(res.data_len, 8 + 22);
	CHECK_EQ(buf[1], 28);
	CHECK_EQ(buf[8], 0x2a);
	CHECK_EQ(buf[9], 0x14);
	CHECK_EQ(buf[14] & 2, 0);   /* not locked */
	uint8_t pa[6] = { 0x1e, 0, 0, 0, 1, 0 };
	run(pa, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);
	run(ms10, 10);
	CHECK_EQ(buf[14] & 2, 2);   /* locked */
	uint8_t ms6[6] = { 0x1a, 0x08, 0x3f, 0, 255, 0 };
	run(ms6, 6);
	CHECK_EQ(res.data_len, 4 + 8 + 22);
	CHECK_EQ(buf[0], 4 + 8 + 22 - 1);
	CHECK_EQ(buf[4], 0x01);
	ms6[2] = 0x05;              /* unsupported page */
	run(ms6, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD, 0);
	ms6[2] = 0xea;              /* saved values */
	run(ms6, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_SAVING_PARAMS, 0);

	/* eject while prevented; allowed after PREVENT ALLOW 0 */
	uint8_t ssu[6] = { 0x1b, 0, 0, 0, 0x02, 0 };
	run(ssu, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_REMOVAL_PREVENTED, 0x02);
	pa[4] = 0;
	run(pa, 6);
	run(ssu, 6);
	CHECK_EQ(res.status, SCSI_STATUS_GOOD);

	/* REPORT LUNS: LUN 0 */
	uint8_t rl[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	run(rl, 12);
	CHECK_EQ(res.data_len, 16);
	CHECK_EQ(buf[3], 8);

	/* unsupported opcodes, a short CDB and an empty one */
	uint8_t wr[10] = { 0x2a };
	run(wr, 10);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
	uint8_t ven[6] = { 0xc0 };
	run(ven, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
	run(r10, 6);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
	run(r10, 0);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE, 0);
	/* host read failure: MEDIUM ERROR, UNRECOVERED READ ERROR */
	scsi_cd_read_failed(&cd, &res);
	expect_sense(SCSI_SENSE_MEDIUM_ERROR, 0x11, 0);
	/* an empty medium: capacity 0, any read out of range */
	scsi_cd_init(&cd, 2047);
	run(cap, 10);
	CHECK_EQ(buf[3], 0);
	r10[5] = 0;
	r10[8] = 1;
	run(r10, 10);
	expect_sense(SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE, 0);
	test_media();
	return check_done();
}
