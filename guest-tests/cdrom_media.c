/* cdrom_media: the ring-3 guest of tests/qmp/test_qmp_cdrom.py. Drives the
 * virtio-scsi CD-ROM (virtio 1.2 section 5.6.6.1 requests, LUN {1, 0, 0x40,
 * 0}) by polling while the host ejects and changes the medium over QMP, and
 * prints what an MMC driver sees (MMC-6 6.7 GET EVENT STATUS media events,
 * SPC-4 sense of TEST UNIT READY): "read1 <text>" from LBA 0 of the first
 * medium, "locked" (PREVENT ALLOW 1), "event E status S" for each media
 * event (an EJECT REQUEST answers with PREVENT ALLOW 0 and "unlocked"),
 * "tur K/ASC/ASCQ" or "tur good" at each change of TEST UNIT READY, and
 * after a NOT READY then UNIT ATTENTION then GOOD: "capacity N" and
 * "read2 <text>" from the new medium; then opens and closes the tray
 * itself (START STOP UNIT) and passes. */
#include "rt.h"
#include "vdrv.h"

struct cmd_req {
	uint8_t lun[8];
	uint64_t id;
	uint8_t task_attr, prio, crn;
	uint8_t cdb[32];
} __attribute__((packed));

struct cmd_resp {
	uint32_t sense_len, resid;
	uint16_t status_qualifier;
	uint8_t status, response;
	uint8_t sense[96];
} __attribute__((packed));

static struct vdrv_dev dev;
static struct vdrv_queue q[3];
static struct cmd_req *req;
static struct cmd_resp *resp;
static uint8_t *data;

/* One command; returns the SCSI status (resp->sense holds the sense). */
static int scsi(const uint8_t *cdb, unsigned cdb_len, uint32_t data_len)
{
	struct vdrv_buf b[3];
	uint32_t len;
	unsigned n = 2;

	memset(req, 0, sizeof(*req));
	req->lun[0] = 1;
	req->lun[2] = 0x40;
	memcpy(req->cdb, cdb, cdb_len);
	memset(resp, 0, sizeof(*resp));
	b[0] = (struct vdrv_buf){ req, sizeof(*req), 0 };
	b[1] = (struct vdrv_buf){ resp, sizeof(*resp), 1 };
	if (data_len) {
		memset(data, 0, data_len);
		b[2] = (struct vdrv_buf){ data, data_len, 1 };
		n = 3;
	}
	int head = vdrv_submit(&q[2], b, n);
	if (head < 0 || vdrv_poll(&q[2], &len, 1ul << 34) != head)
		rt_fail("virtio-scsi: no answer");
	if (resp->response != 0)
		rt_fail("virtio-scsi: response %u", resp->response);
	return resp->status;
}

static void read_lba0(const char *tag)
{
	uint8_t r10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	if (scsi(r10, 10, 2048) != 0)
		rt_fail("%s: READ(10) status, sense %x/%x/%x", tag, resp->sense[2],
			resp->sense[12], resp->sense[13]);
	char text[17];
	memcpy(text, data, 16);
	text[16] = 0;
	for (int i = 0; i < 16; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			text[i] = '.';
	rt_printf("%s %s\n", tag, text);
}

static void prevent(int on)
{
	uint8_t pa[6] = { 0x1e, 0, 0, 0, (uint8_t)on, 0 };
	RT_CHECK_EQ(scsi(pa, 6, 0), 0);
	rt_printf("%s\n", on ? "locked" : "unlocked");
}

void rt_main(void)
{
	int slot = vdrv_find(8, 0);
	if (slot < 0)
		rt_fail("no virtio-scsi device (1af4:1048) on bus 0");
	int rc = vdrv_init(&dev, (unsigned)slot, 0);
	if (rc)
		rt_fail("virtio-scsi: init failed at step %d", rc);
	for (unsigned i = 0; i < 3; i++)
		RT_CHECK_EQ(vdrv_queue_setup(&dev, &q[i], i, 16, 0), 0);
	vdrv_driver_ok(&dev);
	req = rt_alloc_pages(1);
	resp = rt_alloc_pages(1);
	data = rt_alloc_pages(1);

	uint8_t tur[6] = { 0 };
	RT_CHECK_EQ(scsi(tur, 6, 0), 0);
	read_lba0("read1");
	prevent(1);

	/* Poll media events and TEST UNIT READY until the new medium is ready. */
	uint8_t gesn[10] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0 };
	int last = -1, saw_not_ready = 0, saw_ua = 0;
	for (;;) {
		RT_CHECK_EQ(scsi(gesn, 10, 8), 0);
		if (data[4] & 0xf) {
			rt_printf("event %u status %u\n", data[4] & 0xf, data[5]);
			if ((data[4] & 0xf) == 1)
				prevent(0);
		}
		int st = scsi(tur, 6, 0);
		int code = st == 0 ? 0 : (resp->sense[2] & 0xf) << 16 | resp->sense[12] << 8 | resp->sense[13];
		if (code != last) {
			if (code == 0)
				rt_printf("tur good\n");
			else
				rt_printf("tur %x/%x/%x\n", code >> 16, (code >> 8) & 0xff, code & 0xff);
			last = code;
		}
		saw_not_ready |= (code >> 16) == 2;
		saw_ua |= saw_not_ready && (code >> 16) == 6;
		if (code == 0 && saw_ua)
			break;
		rt_delay_us(20000);
	}
	uint8_t cap[10] = { 0x25 };
	RT_CHECK_EQ(scsi(cap, 10, 8), 0);
	rt_printf("capacity %u\n", (unsigned)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3]);
	read_lba0("read2");

	/* The guest's own eject and load (START STOP UNIT LoEj), each left
	 * for the host to report as DEVICE_TRAY_MOVED. */
	uint8_t ssu[6] = { 0x1b, 0, 0, 0, 0x02, 0 };
	RT_CHECK_EQ(scsi(ssu, 6, 0), 0);
	rt_printf("tray opened\n");
	rt_delay_us(500000);
	ssu[4] = 0x03;
	RT_CHECK_EQ(scsi(ssu, 6, 0), 0);
	rt_printf("tray closed\n");
	rt_delay_us(500000);
	rt_pass();
}
