/* A SCSI/MMC CD-ROM logical unit (SPC-3 INQUIRY/REQUEST SENSE/TEST UNIT
 * READY/MODE SENSE/PREVENT ALLOW/START STOP, SBC READ CAPACITY(10), MMC-5
 * READ(10/12), READ TOC/PMA/ATIP formats 0 and 1, GET CONFIGURATION profile
 * 0x0008, GET EVENT STATUS NOTIFICATION polled media class), independent of
 * the transport: the transport hands it a CDB and gets either the data-in
 * bytes and status, or the byte range of the medium to read itself. */
#ifndef VMM_DEVICES_SCSI_CD_H
#define VMM_DEVICES_SCSI_CD_H

#include <stddef.h>
#include <stdint.h>

#define SCSI_CD_BLOCK 2048u
#define SCSI_SENSE_LEN 18         /* fixed-format sense data (SPC-3 4.5.3) */

/* Status codes (SAM). */
#define SCSI_STATUS_GOOD            0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02

/* Sense keys and additional sense codes used here (SPC-3 4.5.6, annex D). */
#define SCSI_SENSE_NO_SENSE        0x0
#define SCSI_SENSE_NOT_READY       0x2
#define SCSI_SENSE_MEDIUM_ERROR    0x3
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5
#define SCSI_SENSE_UNIT_ATTENTION  0x6
#define SCSI_ASC_INVALID_OPCODE    0x20  /* INVALID COMMAND OPERATION CODE */
#define SCSI_ASC_LBA_OUT_OF_RANGE  0x21  /* LOGICAL BLOCK ADDRESS OUT OF RANGE */
#define SCSI_ASC_INVALID_FIELD     0x24  /* INVALID FIELD IN CDB */
#define SCSI_ASC_MEDIUM_CHANGED    0x28  /* NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED */
#define SCSI_ASC_NO_MEDIUM         0x3a  /* MEDIUM NOT PRESENT (ascq 1 tray closed, 2 tray open) */
#define SCSI_ASC_SAVING_PARAMS     0x39  /* SAVING PARAMETERS NOT SUPPORTED */
#define SCSI_ASC_REMOVAL_PREVENTED 0x53  /* ascq 0x02: MEDIUM REMOVAL PREVENTED */

/* Operation codes. */
enum {
	SCSI_TEST_UNIT_READY = 0x00, SCSI_REQUEST_SENSE = 0x03, SCSI_INQUIRY = 0x12,
	SCSI_MODE_SENSE_6 = 0x1a, SCSI_START_STOP_UNIT = 0x1b, SCSI_PREVENT_ALLOW = 0x1e,
	SCSI_READ_CAPACITY_10 = 0x25, SCSI_READ_10 = 0x28, SCSI_SEEK_10 = 0x2b,
	SCSI_SYNCHRONIZE_CACHE = 0x35, SCSI_READ_TOC = 0x43, SCSI_GET_CONFIGURATION = 0x46,
	SCSI_GET_EVENT_STATUS = 0x4a, SCSI_MODE_SENSE_10 = 0x5a, SCSI_REPORT_LUNS = 0xa0,
	SCSI_READ_12 = 0xa8,
};

/* GET EVENT STATUS NOTIFICATION media event codes (MMC-6 table 6.7.2.4). */
enum { SCSI_MEC_NO_CHANGE = 0, SCSI_MEC_EJECT_REQUEST = 1, SCSI_MEC_NEW_MEDIA = 2,
       SCSI_MEC_MEDIA_REMOVAL = 3 };

/* Medium state (as QEMU's scsi-cd: a tray that is open or closed, a medium
 * that may be inserted; the medium is usable when inserted and closed). */
struct scsi_cd {
	uint64_t blocks;            /* medium size in 2048-byte blocks */
	int prevent;                /* PREVENT ALLOW MEDIUM REMOVAL state */
	int inserted;               /* a medium is in the drive */
	int tray_open;
	int unit_attention;         /* report MEDIUM CHANGED once (SAM-5 5.14) */
	uint8_t media_event;        /* pending SCSI_MEC_* for GET EVENT STATUS */
	int tray_moved;             /* the guest opened/closed the tray (START STOP
	                               UNIT): set here, cleared by the transport */
	/* Optional, called too when the guest moves the tray, from the thread
	 * running the command with the transport's lock held: must not block. */
	void (*tray_cb)(void *opaque, int open);
	void *tray_opaque;
	uint8_t sense[SCSI_SENSE_LEN]; /* sense of the last CHECK CONDITION (REQUEST SENSE) */
};

/* What one command produced. */
struct scsi_cd_result {
	uint8_t status;             /* SCSI_STATUS_* */
	uint8_t sense[SCSI_SENSE_LEN]; /* valid when status is CHECK CONDITION */
	size_t data_len;            /* data-in bytes written to the caller's buffer */
	int is_read;                /* READ(10/12): the transport reads [read_off, +read_len) */
	uint64_t read_off, read_len;
};

/* A CD of size bytes (rounded down to whole 2048-byte blocks), inserted,
 * tray closed. */
void scsi_cd_init(struct scsi_cd *cd, uint64_t size);
/* An empty drive with its tray open (QEMU's -drive if=none,media=cdrom). */
void scsi_cd_init_empty(struct scsi_cd *cd);

/* Host-side media changes (QMP eject / blockdev-change-medium; MMC-6 4.7
 * removable medium model). The caller serialises them with commands.
 * Eject: -EBUSY when the guest prevents removal and !force (the guest gets
 * an EJECT REQUEST event instead), else the tray opens and the medium is
 * gone (MEDIA REMOVAL event). Insert: a medium of size bytes, tray closed,
 * NEW MEDIA event, and the next command (other than INQUIRY, REPORT LUNS,
 * REQUEST SENSE, GET CONFIGURATION, GET EVENT STATUS) reports UNIT
 * ATTENTION, MEDIUM MAY HAVE CHANGED once. */
int scsi_cd_eject(struct scsi_cd *cd, int force);
void scsi_cd_insert(struct scsi_cd *cd, uint64_t size);
/* The medium can be read (inserted and the tray closed). */
static inline int scsi_cd_ready(const struct scsi_cd *cd) { return cd->inserted && !cd->tray_open; }

/* Executes one CDB (cdb_len bytes available). Data-in is written to buf
 * (at most buflen bytes, further truncated to the CDB's allocation length).
 * READ commands are range-checked here and returned as is_read with the
 * byte range, so the transport does the I/O; a range beyond the medium is
 * CHECK CONDITION, ILLEGAL REQUEST, LBA OUT OF RANGE. Never fails. */
void scsi_cd_execute(struct scsi_cd *cd, const uint8_t *cdb, size_t cdb_len,
		     uint8_t *buf, size_t buflen, struct scsi_cd_result *res);

/* Fills fixed-format sense (SPC-3 4.5.3) for key/asc/ascq. */
void scsi_sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc, uint8_t ascq);

/* The transport's READ failed on the host: CHECK CONDITION, MEDIUM ERROR,
 * UNRECOVERED READ ERROR (0x11/0x00), remembered for REQUEST SENSE. */
void scsi_cd_read_failed(struct scsi_cd *cd, struct scsi_cd_result *res);

#endif
