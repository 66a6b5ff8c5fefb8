// SPDX-License-Identifier: MIT
/*
 * What a stand-in node (no VM) shows on its console once its kernel has
 * started: its getty's greeting, taken from the image on its eMMC — the
 * root file system's /etc/issue with agetty's \n and \l filled in, then
 * "<hostname> login: " from /etc/hostname. So the console says what was
 * flashed (an Ubuntu 24.04 image greets as one), never a fixed banner
 * (docs/twin.md, "Simulated RK1").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "twin_usb.h"
#include "node/node.h"

#define TWIN_ISSUE_MAX 4096

/* PATH from the first ext partition that has it, NUL-terminated in buf;
 * false if none has it. */
static bool twin_getty_file(const char *img, const char *path, char *buf, size_t size)
{
	struct twin_part p[16];
	const char *table;
	unsigned n;
	char err[160];

	if (twin_disk_parts(img, p, G_N_ELEMENTS(p), &n, &table) < 0)
		return false;
	for (unsigned i = 0; i < n; i++) {
		gchar *tmp = NULL, *text = NULL;
		gsize len = 0;
		bool ok = false;
		int fd;

		if (twin_disk_fs(img, &p[i]) != TWIN_FS_EXT)
			continue;
		fd = g_file_open_tmp("tp-twin-getty-XXXXXX", &tmp, NULL);
		if (fd < 0)
			return false;
		close(fd);
		if (twin_disk_copy(img, &p[i], path, tmp, err, sizeof(err)) == 0 &&
		    g_file_get_contents(tmp, &text, &len, NULL)) {
			snprintf(buf, size, "%.*s", (int)MIN(len, size - 1), text);
			ok = true;
		}
		unlink(tmp);
		g_free(tmp);
		g_free(text);
		if (ok)
			return true;
	}
	return false;
}

char *twin_getty_greeting(struct twin *t, unsigned slot, const char *tty)
{
	char issue[TWIN_ISSUE_MAX] = "", host[256] = "";
	GString *s = g_string_new(NULL);
	const char *img = t->emmc_path[slot];

	/* systemd's name for a machine whose /etc/hostname says nothing */
	if (!img || !twin_getty_file(img, "/etc/hostname", host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[strcspn(host, "\r\n")] = '\0';
	if (!host[0])
		snprintf(host, sizeof(host), "localhost");
	if (img)
		twin_getty_file(img, "/etc/issue", issue, sizeof(issue));
	/* agetty's escapes: \n the host name, \l the line, \\ itself; the
	 * others (dates, counts, addresses) say nothing a test can hold on
	 * to, so they are left out. */
	for (const char *c = issue; *c; c++) {
		if (*c != '\\') {
			g_string_append_c(s, *c);
			continue;
		}
		if (!*++c)
			break;
		if (*c == 'n')
			g_string_append(s, host);
		else if (*c == 'l')
			g_string_append(s, tty);
		else if (*c == '\\')
			g_string_append_c(s, '\\');
	}
	if (s->len && s->str[s->len - 1] != '\n')
		g_string_append_c(s, '\n');
	g_string_append_printf(s, "%s login: ", host);
	return g_string_free(s, FALSE);
}
