/*
 * tur-loop: libiscsi's TEST UNIT READY cost, the peer bench/iscsi.mjs sets pathcheck's initiator
 * next to. Built at bench time into a temp dir (no binary is committed):
 *   cc -O2 -o tur-loop tur-loop.c -liscsi
 *
 *   tur-loop sync <iscsi-url> <warm-up> <count>
 *     one login, <warm-up> unmeasured TURs, then <count> iscsi_testunitready_sync one at a time;
 *     prints {"ns":[round trip of each],"notGood":n,"cpuNs":n} (cpuNs: this process, measured part)
 *   tur-loop async <iscsi-url> <luns> <inflight> <warm-ms> <measure-ms>
 *     one session; <inflight> TURs kept outstanding over LUNs 1..<luns> of the URL's target
 *     (iscsi_testunitready_task, poll, iscsi_service), each resent as soon as it completes;
 *     completions counted over <measure-ms> after <warm-ms>;
 *     prints {"commands":n,"seconds":s,"notGood":n,"all":n,"cpuNs":n} (all: completions of the
 *     whole run, warm-up and drain included; cpuNs: this process over that whole run)
 *
 * "notGood": commands answered with anything but GOOD (a new session's first command per LUN
 * gets UNIT ATTENTION; the warm-up absorbs those). Exit 0 on success, 1 when the session or a
 * command failed (one line on stderr), 2 on bad usage.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include "peer-clock.h"

/* Past the window, how long outstanding commands may take to come back. */
#define DRAIN_MS 10000
#define MAX_INFLIGHT 1024

static int fail(struct iscsi_context *iscsi, const char *what)
{
	fprintf(stderr, "tur-loop: %s failed: %s\n", what, iscsi_get_error(iscsi));
	return 1;
}

/* A decimal integer argument in min..max, or -1. */
static long int_arg(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && v >= min && v <= max ? v : -1;
}

/* Connect and log in (no digests, as pathcheck's initiator); the context, or NULL after a message. */
static struct iscsi_context *open_session(const char *url_text, int *lun)
{
	struct iscsi_context *iscsi = iscsi_create_context("iqn.2024-01.io.pathcheck:tur-loop");
	if (!iscsi) {
		fprintf(stderr, "tur-loop: cannot create an iSCSI context\n");
		return NULL;
	}
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_text);
	if (!url) {
		fprintf(stderr, "tur-loop: bad URL %s: %s\n", url_text, iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_noautoreconnect(iscsi, 1);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	iscsi_set_targetname(iscsi, url->target);
	*lun = url->lun;
	/* Not iscsi_full_connect_sync: it sends a TUR of its own and fails on the first UNIT ATTENTION. */
	int rc = 0;
	if (iscsi_connect_sync(iscsi, url->portal) != 0)
		rc = fail(iscsi, "connect");
	else if (iscsi_login_sync(iscsi) != 0)
		rc = fail(iscsi, "login");
	iscsi_destroy_url(url);
	if (rc != 0) {
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	return iscsi;
}

static int run_sync(struct iscsi_context *iscsi, int lun, long warm, long count)
{
	int64_t *ns = malloc(sizeof(*ns) * (size_t)count);
	if (!ns) {
		fprintf(stderr, "tur-loop: out of memory for %ld samples\n", count);
		return 1;
	}
	long not_good = 0;
	int64_t cpu0 = 0;
	for (long i = -warm; i < count; i++) {
		if (i == 0)
			cpu0 = cpu_ns();
		int64_t t0 = now_ns();
		struct scsi_task *task = iscsi_testunitready_sync(iscsi, lun);
		int64_t t1 = now_ns();
		if (!task) {
			free(ns);
			return fail(iscsi, "TEST UNIT READY");
		}
		if (i >= 0) {
			ns[i] = t1 - t0;
			not_good += task->status != SCSI_STATUS_GOOD;
		}
		scsi_free_scsi_task(task);
	}
	int64_t cpu = cpu_ns() - cpu0;
	printf("{\"ns\":[");
	for (long i = 0; i < count; i++)
		printf("%s%lld", i ? "," : "", (long long)ns[i]);
	printf("],\"notGood\":%ld,\"cpuNs\":%lld}\n", not_good, (long long)cpu);
	free(ns);
	return 0;
}

struct window {
	int64_t from, until;
	long counted, not_good, all, outstanding;
	int send_failed;
};

struct lane {
	struct window *w;
	int lun;
};

static void tur_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data);

static int send_tur(struct iscsi_context *iscsi, struct lane *l)
{
	if (!iscsi_testunitready_task(iscsi, l->lun, tur_done, l))
		return l->w->send_failed = 1, -1;
	l->w->outstanding++;
	return 0;
}

static void tur_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct lane *l = private_data;
	struct window *w = l->w;
	int64_t t = now_ns();
	w->outstanding--;
	w->all++;
	if (t >= w->from && t < w->until) {
		w->counted++;
		w->not_good += status != SCSI_STATUS_GOOD;
	}
	if (command_data)
		scsi_free_scsi_task(command_data);
	if (t < w->until)
		send_tur(iscsi, l);
}

static int run_async(struct iscsi_context *iscsi, long luns, long inflight, long warm_ms, long measure_ms)
{
	static struct lane lanes[MAX_INFLIGHT];
	struct window w = { 0 };
	int64_t cpu0 = cpu_ns();
	int64_t start = now_ns();
	w.from = start + warm_ms * 1000000;
	w.until = w.from + measure_ms * 1000000;
	int64_t give_up = w.until + (int64_t)DRAIN_MS * 1000000;
	for (long i = 0; i < inflight; i++) {
		lanes[i] = (struct lane){ &w, 1 + (int)(i % luns) };
		if (send_tur(iscsi, &lanes[i]) != 0)
			return fail(iscsi, "sending a TEST UNIT READY");
	}
	while (w.outstanding > 0 && now_ns() < give_up) {
		struct pollfd pfd = { .fd = iscsi_get_fd(iscsi), .events = iscsi_which_events(iscsi) };
		if (poll(&pfd, 1, 100) < 0)
			return fail(iscsi, "poll");
		if (iscsi_service(iscsi, pfd.revents) < 0)
			return fail(iscsi, "iscsi_service");
		if (w.send_failed)
			return fail(iscsi, "sending a TEST UNIT READY");
	}
	if (w.outstanding > 0) {
		fprintf(stderr, "tur-loop: %ld commands still outstanding %d ms after the window\n", w.outstanding, DRAIN_MS);
		return 1;
	}
	printf("{\"commands\":%ld,\"seconds\":%.3f,\"notGood\":%ld,\"all\":%ld,\"cpuNs\":%lld}\n", w.counted,
	       measure_ms / 1000.0, w.not_good, w.all, (long long)(cpu_ns() - cpu0));
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: tur-loop sync <iscsi-url> <warm-up> <count>\n"
			"       tur-loop async <iscsi-url> <luns> <inflight (1..%d)> <warm-ms> <measure-ms>\n",
		MAX_INFLIGHT);
	return 2;
}

int main(int argc, char **argv)
{
	int sync = argc == 5 && strcmp(argv[1], "sync") == 0;
	int async = argc == 7 && strcmp(argv[1], "async") == 0;
	if (!sync && !async)
		return usage();
	/* sync: warm-up, count; async: luns, inflight, warm-ms, measure-ms. */
	long a = sync ? int_arg(argv[3], 0, 100000000) : int_arg(argv[3], 1, 255);
	long b = sync ? int_arg(argv[4], 1, 100000000) : int_arg(argv[4], 1, MAX_INFLIGHT);
	long c = sync ? 0 : int_arg(argv[5], 0, 3600000);
	long d = sync ? 0 : int_arg(argv[6], 1, 3600000);
	if (a < 0 || b < 0 || c < 0 || d < 0)
		return usage();
	int lun;
	struct iscsi_context *iscsi = open_session(argv[2], &lun);
	if (!iscsi)
		return 1;
	int rc = sync ? run_sync(iscsi, lun, a, b) : run_async(iscsi, a, b, c, d);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_context(iscsi);
	return rc;
}
