// SPDX-License-Identifier: MIT
/*
 * Finding a node's eMMC as a USB disk. bmcd sleeps (3 s for a CM4, 5 s for
 * an RK1) and takes the single disk whose vendor is RPi-MSD- or Rockchip
 * (hardware.md §7.1, step 7); this polls, and on v2.5+ also requires the
 * slot's hub port in the disk's sysfs path so that another node's disk is
 * never taken (§7.2, item 6).
 */
#include "usbdisk.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/sink_file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 100

/* SCSI vendors of the CM4's two payloads (protocols.md §7.5; the gadget's is
 * f_mass_storage's default and UNVERIFIED) and of rockusb.ko (§6). */
static const char *const cm4_vendors[] = { "RPi-MSD-", "Linux" };
static const char *const rk1_vendors[] = { "Rockchip" };

const struct tp_usbdisk_kind tp_usbdisk_cm4 = { "CM4 disk", cm4_vendors, 2 };
const struct tp_usbdisk_kind tp_usbdisk_rk1 = { "RK1 loader disk", rk1_vendors, 1 };

static bool vendor_is(const struct tp_usbdisk_kind *k, const char *vendor)
{
	for (size_t i = 0; i < k->nvendors; i++) {
		size_t n = strlen(k->vendors[i]);

		if (k->vendors[i][n - 1] == '-' ? !strncmp(vendor, k->vendors[i], n) :
						  !strcmp(vendor, k->vendors[i]))
			return true;
	}
	return false;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return (int)n;
}

/* "*-1.2": a path component "<bus>-1.2"; "1-1.2": exactly that one. */
static bool on_port(const char *link, const char *pattern)
{
	char want[40];

	if (!pattern)
		return true;
	if (!strncmp(pattern, "*-", 2)) {
		snprintf(want, sizeof(want), "%s/", pattern + 1);
		for (const char *p = strstr(link, want); p; p = strstr(p + 1, want)) {
			const char *q = p;

			while (q > link && isdigit((unsigned char)q[-1]))
				q--;
			if (q < p && q > link && q[-1] == '/')
				return true;
		}
		return false;
	}
	snprintf(want, sizeof(want), "/%s/", pattern);
	return strstr(link, want) != NULL;
}

/* One look at /sys/block. */
static bool scan(const struct tp_usbdisk_kind *k, const char *pattern, struct tp_usbdisk *d)
{
	DIR *dir = opendir("/sys/block");
	struct dirent *e;
	bool found = false;

	if (!dir)
		return false;
	while (!found && (e = readdir(dir))) {
		char p[512], link[1024], vendor[64], size[32];
		ssize_t n;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(d->name))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s", e->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!on_port(link, pattern))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/device/vendor", e->d_name);
		if (read_small(p, vendor, sizeof(vendor)) <= 0)
			continue;
		if (!vendor_is(k, vendor))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/size", e->d_name);
		found = read_small(p, size, sizeof(size)) > 0;
		d->size = found ? strtoull(size, NULL, 10) * 512u : 0;
		snprintf(d->name, sizeof(d->name), "%s", e->d_name);
		snprintf(d->dev, sizeof(d->dev), "/dev/%s", e->d_name);
		snprintf(d->vendor, sizeof(d->vendor), "%s", vendor);
		/* The disk's uevent may come before its size is known or its
		 * /dev node made: wait for both. */
		found = found && d->size && access(d->dev, F_OK) == 0;
	}
	closedir(dir);
	return found;
}

int tp_usbdisk_wait(const struct tp_usbdisk_kind *k, const char *path, unsigned timeout_ms,
		    struct tp_usbdisk *d)
{
	uint64_t start = tp_clock_now_ns(), deadline = start + (uint64_t)timeout_ms * 1000000u;
	int rc;

	memset(d, 0, sizeof(*d));
	for (;;) {
		if (scan(k, path, d)) {
			TP_INFO("%s %s (%s) at %s after %llu ms", k->what, d->dev, d->vendor,
				path ? path : "(any)",
				(unsigned long long)((tp_clock_now_ns() - start) / 1000000u));
			return 0;
		}
		if (tp_clock_now_ns() >= deadline)
			break;
		rc = tp_clock_sleep_ms(POLL_MS);
		if (rc < 0)
			return rc;
	}
	return tp_err_set(-ETIMEDOUT,
			  "no %s (SCSI vendor %s%s%s in /sys/block) appeared at USB path %s within "
			  "%u ms",
			  k->what, k->vendors[0], k->nvendors > 1 ? " or " : "",
			  k->nvendors > 1 ? k->vendors[1] : "", path ? path : "(any)", timeout_ms);
}

int tp_usbdisk_check_unmounted(const struct tp_usbdisk *d)
{
	char p[TP_PATH_MAX], line[1024];
	size_t nl = strlen(d->dev);
	FILE *f;
	int rc = 0;

	if (tp_path(p, sizeof(p), "/proc/self/mountinfo") < 0 || !(f = fopen(p, "re"))) {
		TP_DBG("%s: not checked for mounts (%s)", d->dev, p);
		return 0;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		/* "... - fstype source options": the source names the device. */
		const char *sep = strstr(line, " - "), *src;

		if (!sep || !(src = strchr(sep + 3, ' ')))
			continue;
		src++;
		if (!strncmp(src, d->dev, nl) && (src[nl] == ' ' || isdigit((unsigned char)src[nl])))
			rc = tp_err_set(-EBUSY, "%s (the node's eMMC) is mounted (%.*s); unmount it "
					"first", d->dev, (int)strcspn(src, " "), src);
	}
	fclose(f);
	return rc;
}

int tp_usbdisk_open(const struct tp_usbdisk *d, struct tp_sink **s)
{
	struct tp_sink_file_opts o = { .size = d->size, .existing = true };

	return tp_sink_file_open(s, d->dev, &o);
}
