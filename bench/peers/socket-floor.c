/*
 * socket-floor: what one loopback TCP round trip costs on this machine with no iSCSI in it, so that
 * bench/iscsi.mjs can tell the initiator's own cost from the runtime's. Built at bench time into a temp
 * dir (no binary is committed):
 *   cc -O2 -o socket-floor socket-floor.c
 *
 *   socket-floor echo
 *     listens on 127.0.0.1 (a free port, printed as {"port":n} on stdout), answers every byte it
 *     reads with the same bytes, each connection in a process of its own (which ends with it), until killed
 *   socket-floor ping <port> <warm-up> <count>
 *     one connection; <warm-up> unmeasured round trips of 48 bytes (an iSCSI BHS), then <count>
 *     timed; prints {"ns":[round trip of each],"notGood":0,"cpuNs":n} (cpuNs: this process, measured part)
 *
 * TCP_NODELAY on both ends, as an initiator sets it. Exit 0 on success, 1 when a socket call fails
 * (one line on stderr), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "peer-clock.h"

#define BHS 48

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int echo(void)
{
	int one = 1;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof a;
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0 || getsockname(s, (struct sockaddr *)&a, &len) < 0)
		return fail("socket-floor: listen");
	signal(SIGCHLD, SIG_IGN); /* connection processes are reaped by the kernel */
	printf("{\"port\":%d}\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		char buf[4096];
		ssize_t n;
		int c = accept(s, NULL, NULL);
		if (c < 0)
			return fail("socket-floor: accept");
		if (fork() == 0) {
			close(s);
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			while ((n = read(c, buf, sizeof buf)) > 0)
				if (write(c, buf, n) != n)
					break;
			_exit(0);
		}
		close(c);
	}
}

static int round_trip(int s, char *buf)
{
	ssize_t got = 0;
	if (write(s, buf, BHS) != BHS)
		return -1;
	while (got < BHS) {
		ssize_t n = read(s, buf + got, BHS - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int ping(int port, long warm, long count)
{
	int one = 1;
	char buf[BHS] = { 0 };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(port);
	int64_t *ns = malloc(sizeof *ns * (count > 0 ? count : 1));
	if (ns == NULL)
		return fail("socket-floor: malloc");
	if (s < 0 || setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		return fail("socket-floor: connect");
	for (long i = 0; i < warm; i++)
		if (round_trip(s, buf) < 0)
			return fail("socket-floor: round trip");
	int64_t cpu0 = cpu_ns();
	for (long i = 0; i < count; i++) {
		int64_t t = now_ns();
		if (round_trip(s, buf) < 0)
			return fail("socket-floor: round trip");
		ns[i] = now_ns() - t;
	}
	int64_t cpu = cpu_ns() - cpu0;
	printf("{\"ns\":[");
	for (long i = 0; i < count; i++)
		printf("%s%lld", i > 0 ? "," : "", (long long)ns[i]);
	printf("],\"notGood\":0,\"cpuNs\":%lld}\n", (long long)cpu);
	close(s);
	free(ns);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "echo") == 0)
		return echo();
	if (argc == 5 && strcmp(argv[1], "ping") == 0)
		return ping(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: socket-floor echo | socket-floor ping <port> <warm-up> <count>\n");
	return 2;
}
