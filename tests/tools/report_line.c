// SPDX-License-Identifier: MIT
/*
 * report_line KEYFILE SLOT ID SEQ STEP EVENT TEXT: print one node report
 * line (docs/report-protocol.md) made by common/report.c, as the node
 * helper would write it, for tests that put lines on a twin's UART.
 * KEYFILE holds the 64 hex digits (a slot's secrets/slotN/report-key), so
 * the key is never on a command line. TEXT may hold \n and \t written as
 * such (two characters), to test escaping through a shell.
 *
 * report_line --verify KEYFILE: read console lines on stdin, check each
 * with tp_report_parse() and print "STEP EVENT TEXT" (" TEXT" only when not
 * empty) for an authentic one, "REJECTED reason" for a refused one and
 * "LINE text" for a line without the marker. Exit 1 if any was refused. Tests use
 * it to see the node helper's console as the BMC will.
 */
#include "common/err.h"
#include "common/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void unbackslash(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++) {
		if (in[0] == '\\' && in[1] == 'n')
			out[n++] = '\n', in++;
		else if (in[0] == '\\' && in[1] == 't')
			out[n++] = '\t', in++;
		else
			out[n++] = *in;
	}
	out[n] = '\0';
}

static int read_key(struct tp_report_key *key, const char *file)
{
	char hex[80] = "";
	FILE *f = fopen(file, "r");
	int rc;

	if (!f || !fgets(hex, sizeof(hex), f)) {
		fprintf(stderr, "report_line: cannot read %s\n", file);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	hex[strcspn(hex, "\n")] = '\0';
	rc = tp_report_key_from_hex(key, hex);
	explicit_bzero(hex, sizeof(hex));
	if (rc < 0) {
		fprintf(stderr, "report_line: %s: %s\n", file, tp_err_msg());
		return -1;
	}
	return 0;
}

static int verify(const char *keyfile)
{
	struct tp_report_key key;
	char buf[4096];
	int bad = 0;

	if (read_key(&key, keyfile) < 0)
		return 2;
	while (fgets(buf, sizeof(buf), stdin)) {
		struct tp_report r;
		size_t len = strcspn(buf, "\n");
		int rc = tp_report_parse(buf, len, &key, &r);

		if (rc == -ENOMSG) {
			printf("LINE %.*s\n", (int)len, buf);
			continue;
		}
		if (rc < 0) {
			printf("REJECTED %s\n", tp_err_msg());
			bad = 1;
			continue;
		}
		printf("%s %s%s%s\n", r.step, r.event, *r.text ? " " : "", r.text);
	}
	tp_report_key_wipe(&key);
	return bad;
}

int main(int argc, char **argv)
{
	char line[TP_REPORT_LINE_MAX + 1], text[1024];
	struct tp_report_key key;
	struct tp_report r = { 0 };
	int n;

	if (argc == 3 && !strcmp(argv[1], "--verify"))
		return verify(argv[2]);
	if (argc != 8) {
		fprintf(stderr, "usage: report_line KEYFILE SLOT ID SEQ STEP EVENT TEXT\n"
				"       report_line --verify KEYFILE <LINES\n");
		return 2;
	}
	if (read_key(&key, argv[1]) < 0)
		return 1;
	r.slot = (unsigned)strtoul(argv[2], NULL, 10);
	snprintf(r.id, sizeof(r.id), "%s", argv[3]);
	r.seq = strtoull(argv[4], NULL, 10);
	snprintf(r.step, sizeof(r.step), "%s", argv[5]);
	snprintf(r.event, sizeof(r.event), "%s", argv[6]);
	unbackslash(argv[7], text, sizeof(text));
	tp_report_set_text(&r, text);
	n = tp_report_format(line, sizeof(line), &key, &r);
	tp_report_key_wipe(&key);
	if (n < 0) {
		fprintf(stderr, "report_line: %s\n", tp_err_msg());
		return 1;
	}
	printf("%s\n", line);
	return 0;
}
