// SPDX-License-Identifier: MIT
/*
 * report_line KEYFILE SLOT ID SEQ STEP EVENT TEXT: print one node report
 * line (docs/report-protocol.md) made by common/report.c, as the node
 * helper would write it, for tests that put lines on a twin's UART.
 * KEYFILE holds the 64 hex digits (a slot's secrets/slotN/report-key), so
 * the key is never on a command line. TEXT may hold \n and \t written as
 * such (two characters), to test escaping through a shell.
 */
#include "common/err.h"
#include "common/report.h"

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

int main(int argc, char **argv)
{
	char hex[80] = "", line[TP_REPORT_LINE_MAX + 1], text[1024];
	struct tp_report_key key;
	struct tp_report r = { 0 };
	FILE *f;
	int n;

	if (argc != 8) {
		fprintf(stderr, "usage: report_line KEYFILE SLOT ID SEQ STEP EVENT TEXT\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f || !fgets(hex, sizeof(hex), f)) {
		fprintf(stderr, "report_line: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	hex[strcspn(hex, "\n")] = '\0';
	if (tp_report_key_from_hex(&key, hex) < 0) {
		fprintf(stderr, "report_line: %s: %s\n", argv[1], tp_err_msg());
		return 1;
	}
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
