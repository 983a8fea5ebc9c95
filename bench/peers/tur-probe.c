/*
 * tur-probe: one SCSI command through libiscsi's sync API, answer printed as one JSON line.
 * A reference peer for what a real target (tgtd) answers, to cross-check pathcheck's checkers.
 *
 *   tur-probe [--hold] tur|inquiry|readcap16 iscsi://[user%secret@]host:port/iqn/lun
 *
 * A command answered UNIT ATTENTION is sent again, up to 5 tries as multipath-tools' tur checker
 * does (a new session's first command gets 29/00 POWER ON OR RESET); the count is printed.
 * --hold keeps the session: after the first answer, every line read on stdin sends the command
 * again on the same session (so a test can change the target between two commands); EOF ends.
 * Build: cc -O2 -o tur-probe tur-probe.c -liscsi
 * Exit: 0 when every command got an answer (a SCSI status, GOOD or not, or one of libiscsi's own
 * LIBISCSI_* codes), 1 when no answer came (connect, login or send failed), 2 on bad usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

enum op { OP_TUR, OP_INQUIRY, OP_READCAP16 };

static const char *const OP_NAMES[] = { "tur", "inquiry", "readcap16" };

/* JSON string body: the inputs here are libiscsi messages and SCSI ASCII fields. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static const char *status_name(int status)
{
	switch (status) {
	case SCSI_STATUS_GOOD: return "GOOD";
	case SCSI_STATUS_CHECK_CONDITION: return "CHECK_CONDITION";
	case SCSI_STATUS_CONDITION_MET: return "CONDITION_MET";
	case SCSI_STATUS_BUSY: return "BUSY";
	case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION_CONFLICT";
	case SCSI_STATUS_TASK_SET_FULL: return "TASK_SET_FULL";
	case SCSI_STATUS_ACA_ACTIVE: return "ACA_ACTIVE";
	case SCSI_STATUS_TASK_ABORTED: return "TASK_ABORTED";
	/* libiscsi's own codes: the command never got a SCSI status (session dropped, timed out). */
	case SCSI_STATUS_CANCELLED: return "LIBISCSI_CANCELLED";
	case SCSI_STATUS_ERROR: return "LIBISCSI_ERROR";
	case SCSI_STATUS_TIMEOUT: return "LIBISCSI_TIMEOUT";
	default: return "OTHER";
	}
}

static void print_failure(enum op op, const char *stage, struct iscsi_context *iscsi)
{
	printf("{\"op\":\"%s\",\"ok\":false,\"stage\":\"%s\",\"error\":", OP_NAMES[op], stage);
	print_json_string(iscsi_get_error(iscsi));
	printf("}\n");
	fflush(stdout);
}

/* Sense as libiscsi parsed it, plus the raw bytes (datain holds a 2-byte length, then sense). */
static void print_sense(const struct scsi_task *task)
{
	printf(",\"sense_key\":%d,\"asc\":%d,\"ascq\":%d,\"sense\":\"", (int)task->sense.key,
	       (task->sense.ascq >> 8) & 0xff, task->sense.ascq & 0xff);
	for (int i = 2; i < task->datain.size; i++)
		printf("%s%02x", i > 2 ? " " : "", task->datain.data[i]);
	putchar('"');
}

static void print_data(enum op op, struct scsi_task *task)
{
	if (op == OP_INQUIRY) {
		const struct scsi_inquiry_standard *inq = scsi_datain_unmarshall(task);
		if (!inq)
			return;
		printf(",\"qualifier\":%d,\"device_type\":%d,\"vendor\":", (int)inq->qualifier,
		       (int)inq->device_type);
		print_json_string(inq->vendor_identification);
		printf(",\"product\":");
		print_json_string(inq->product_identification);
		printf(",\"revision\":");
		print_json_string(inq->product_revision_level);
	} else if (op == OP_READCAP16) {
		const struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(task);
		if (!rc)
			return;
		printf(",\"returned_lba\":%llu,\"block_length\":%u",
		       (unsigned long long)rc->returned_lba, rc->block_length);
	}
}

static struct scsi_task *send_command(struct iscsi_context *iscsi, enum op op, int lun)
{
	switch (op) {
	case OP_TUR:
		return iscsi_testunitready_sync(iscsi, lun);
	case OP_INQUIRY:
		return iscsi_inquiry_sync(iscsi, lun, 0, 0, 255);
	default:
		return iscsi_readcapacity16_sync(iscsi, lun);
	}
}

/* As multipath-tools' tur checker does: at most 5 tries while the answer is UNIT ATTENTION. */
#define MAX_TRIES 5

static int run_once(struct iscsi_context *iscsi, enum op op, int lun)
{
	struct scsi_task *task = NULL;
	int unit_attentions = 0;
	for (int try = 0; try < MAX_TRIES; try++) {
		if (task)
			scsi_free_scsi_task(task);
		task = send_command(iscsi, op, lun);
		if (!task || task->status != SCSI_STATUS_CHECK_CONDITION ||
		    task->sense.key != SCSI_SENSE_UNIT_ATTENTION)
			break;
		unit_attentions++;
	}
	if (!task) {
		print_failure(op, "command", iscsi);
		return 1;
	}
	printf("{\"op\":\"%s\",\"ok\":true,\"unit_attentions\":%d,\"status\":%d,\"status_name\":\"%s\"",
	       OP_NAMES[op], unit_attentions, task->status, status_name(task->status));
	if ((unsigned)task->status >= (unsigned)SCSI_STATUS_CANCELLED) {
		printf(",\"error\":");
		print_json_string(iscsi_get_error(iscsi));
	} else if (task->status == SCSI_STATUS_CHECK_CONDITION)
		print_sense(task);
	else if (task->status == SCSI_STATUS_GOOD)
		print_data(op, task);
	printf("}\n");
	fflush(stdout);
	scsi_free_scsi_task(task);
	return 0;
}

static int parse_op(const char *s, enum op *op)
{
	for (int i = 0; i < (int)(sizeof(OP_NAMES) / sizeof(OP_NAMES[0])); i++) {
		if (strcmp(s, OP_NAMES[i]) == 0) {
			*op = (enum op)i;
			return 0;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	int hold = argc > 1 && strcmp(argv[1], "--hold") == 0;
	enum op op;
	if (argc != 3 + hold || parse_op(argv[1 + hold], &op) != 0) {
		fprintf(stderr, "usage: tur-probe [--hold] tur|inquiry|readcap16 iscsi://[user%%secret@]host:port/iqn/lun\n");
		return 2;
	}
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2024-01.io.pathcheck:tur-probe");
	if (!iscsi) {
		fprintf(stderr, "tur-probe: cannot create an iSCSI context\n");
		return 1;
	}
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, argv[2 + hold]);
	if (!url) {
		fprintf(stderr, "tur-probe: bad URL %s: %s\n", argv[2 + hold], iscsi_get_error(iscsi));
		return 2;
	}
	/* A checker sees a dropped session as it is: no silent re-login behind its back. */
	iscsi_set_noautoreconnect(iscsi, 1);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
	iscsi_set_targetname(iscsi, url->target);
	if (url->user[0] != '\0')
		iscsi_set_initiator_username_pwd(iscsi, url->user, url->passwd);
	/*
	 * connect + login, not iscsi_full_connect_sync: that one sends its own TEST UNIT READY and
	 * fails the login on any CHECK CONDITION, hiding the very sense this probe is here to show.
	 */
	int rc;
	if (iscsi_connect_sync(iscsi, url->portal) != 0) {
		print_failure(op, "connect", iscsi);
		rc = 1;
	} else if (iscsi_login_sync(iscsi) != 0) {
		print_failure(op, "login", iscsi);
		rc = 1;
	} else {
		rc = run_once(iscsi, op, url->lun);
		char line[64];
		while (hold && fgets(line, sizeof(line), stdin) != NULL)
			rc |= run_once(iscsi, op, url->lun);
		iscsi_logout_sync(iscsi);
	}
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return rc;
}
