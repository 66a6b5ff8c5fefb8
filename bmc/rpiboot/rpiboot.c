// SPDX-License-Identifier: MIT
/*
 * rpiboot host side (protocols.md §7.1-§7.4), written from the protocol, not
 * from usbboot's main.c: one handle instead of globals, polling on tp_clock
 * instead of blind sleeps, errors with context instead of printf and exit.
 */
#include "bmc/usbpath.h"
#include "rpiboot.h"
#include "rpiboot_proto.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CTRL_OUT_TIMEOUT_MS 1000 /* ep_write's length announcement (§7.2) */
#define BULK_TIMEOUT_MS 5000     /* each 16 KiB chunk */
#define CTRL_IN_TIMEOUT_MS 20000 /* ep_read */
#define READ_RETRIES 5
#define MISSING_TIMEOUT_MS 5000

struct tp_rpiboot {
	libusb_context *ctx;
	libusb_device_handle *h;
	char path[32];
	uint16_t pid;
	uint8_t iserial;
	int ifnum;
	uint8_t ep_out;
	char missing[256];
};

int tp_rpiboot_check_dir(const char *dir, uint16_t pid)
{
	const char *name = tp_rpi_second_stage(pid);
	char p[TP_PATH_MAX];
	struct stat st;

	if (!name)
		return tp_err_set(-EINVAL, "rpiboot: no second stage known for 0a5c:%04x", pid);
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (stat(p, &st) < 0)
		return tp_err_set(-errno, "rpiboot: %s: %s; put the rpiboot files (%s, start4.elf "
				  "or the mass-storage-gadget64 files) there or pass --rpiboot-dir",
				  p, strerror(errno), name);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || access(p, R_OK) < 0)
		return tp_err_set(-EINVAL, "rpiboot: %s is not a readable, non-empty file", p);
	return 0;
}

static void detach(struct tp_rpiboot *d)
{
	if (d->h) {
		if (d->ifnum >= 0)
			libusb_release_interface(d->h, d->ifnum);
		libusb_close(d->h);
	}
	d->h = NULL;
	d->ifnum = -1;
}

/* A fresh context per poll: see tp_usb_ctx_renew() for why. */
static int ctx_renew(struct tp_rpiboot *d)
{
	detach(d);
	return tp_usb_ctx_renew(&d->ctx, "rpiboot");
}

/* §7.1: one interface: 0 with bulk OUT 1; two (a BCM2837 with mass storage
 * first): 1 with bulk OUT 3. */
static int attach(struct tp_rpiboot *d, libusb_device *dev)
{
	struct libusb_config_descriptor *cfg;
	int rc = libusb_open(dev, &d->h), n;

	if (rc < 0)
		return tp_err_set(tp_usb_errno(rc), "rpiboot %s: cannot open the boot ROM: %s%s",
				  d->path, libusb_strerror(rc),
				  rc == LIBUSB_ERROR_ACCESS ? "; run as root or add a udev rule for 0a5c"
							    : "");
	rc = libusb_get_active_config_descriptor(dev, &cfg);
	if (rc < 0)
		return tp_err_set(tp_usb_errno(rc), "rpiboot %s: no configuration: %s", d->path,
				  libusb_strerror(rc));
	n = cfg->bNumInterfaces;
	libusb_free_config_descriptor(cfg);
	d->ifnum = n == 1 ? 0 : 1;
	d->ep_out = n == 1 ? 0x01 : 0x03;
	if (libusb_kernel_driver_active(d->h, d->ifnum) == 1)
		libusb_detach_kernel_driver(d->h, d->ifnum);
	rc = libusb_claim_interface(d->h, d->ifnum);
	if (rc < 0) {
		d->ifnum = -1;
		return tp_err_set(tp_usb_errno(rc), "rpiboot %s: cannot claim interface: %s", d->path,
				  libusb_strerror(rc));
	}
	return 0;
}

struct rpi_look {
	struct tp_rpiboot *d;
	const char *path;
	bool stage1;
	int not_serial;
};

/* One look for a boot ROM at path in the wanted stage (stage 2: a serial
 * index other than not_serial too, as usbboot requires), opened on a hit. */
static int rpi_look(void *cookie, int *open_err)
{
	struct rpi_look *l = cookie;
	struct tp_rpiboot *d = l->d;
	libusb_device **list, *hit = NULL;
	ssize_t n;
	int rc = ctx_renew(d);

	if (rc < 0)
		return rc;
	n = libusb_get_device_list(d->ctx, &list);
	for (ssize_t i = 0; i < n && !hit; i++) {
		struct libusb_device_descriptor dd;
		char p[32];

		if (libusb_get_device_descriptor(list[i], &dd) < 0 ||
		    !tp_rpi_is_bootrom(dd.idVendor, dd.idProduct) ||
		    tp_rpi_is_stage1(dd.iSerialNumber) != l->stage1 ||
		    (l->not_serial >= 0 && dd.iSerialNumber == l->not_serial))
			continue;
		tp_usb_path(list[i], p, sizeof(p));
		if (!tp_usb_path_match(l->path, p))
			continue;
		snprintf(d->path, sizeof(d->path), "%s", p);
		d->pid = dd.idProduct;
		d->iserial = dd.iSerialNumber;
		hit = list[i];
	}
	rc = 1;
	if (hit) {
		rc = attach(d, hit);
		if (rc < 0) {
			*open_err = rc;
			detach(d);
			rc = 1;
		}
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	return rc;
}

/* 0 attached; -ETIMEDOUT with no message; the last open error if a boot ROM
 * was found but not opened. */
static int poll_attach(struct tp_rpiboot *d, const char *path, bool stage1, int not_serial,
		       unsigned timeout_ms)
{
	struct rpi_look l = { d, path, stage1, not_serial };
	int open_err, rc = tp_usb_poll(timeout_ms, rpi_look, &l, &open_err);

	return rc == -ETIMEDOUT && open_err ? open_err : rc;
}

int tp_rpiboot_wait(const char *path, unsigned timeout_ms, struct tp_rpiboot **out)
{
	struct tp_rpiboot *d = calloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	if (!d)
		return tp_err_set(-ENOMEM, "out of memory");
	d->ifnum = -1;
	rc = poll_attach(d, path, true, -1, timeout_ms);
	if (rc == -ETIMEDOUT)
		rc = tp_err_set(rc, "no Broadcom boot ROM (0a5c:2711) appeared at USB path %s within "
				"%u ms", path ? path : "(any)", timeout_ms);
	if (rc < 0) {
		tp_rpiboot_close(d);
		return rc;
	}
	TP_INFO("rpiboot %s: boot ROM 0a5c:%04x", d->path, d->pid);
	*out = d;
	return 0;
}

const char *tp_rpiboot_path(const struct tp_rpiboot *d)
{
	return d->path;
}

uint16_t tp_rpiboot_pid(const struct tp_rpiboot *d)
{
	return d->pid;
}

const char *tp_rpiboot_missing(const struct tp_rpiboot *d)
{
	return d->missing;
}

/* §7.2 step 1: the length in the setup packet, no data stage. */
static int announce(struct tp_rpiboot *d, uint32_t len, const char *what)
{
	int rc = libusb_control_transfer(d->h, 0x40, 0, tp_rpi_wvalue(len), tp_rpi_windex(len),
					 NULL, 0, CTRL_OUT_TIMEOUT_MS);

	if (rc < 0)
		return tp_err_set(tp_usb_errno(rc), "rpiboot %s: announcing %s (%u bytes): %s", d->path,
				  what, len, libusb_strerror(rc));
	return 0;
}

static int bulk_out(struct tp_rpiboot *d, const uint8_t *buf, size_t len, const char *what)
{
	while (len) {
		int chunk = (int)(len < TP_RPI_MAX_XFER ? len : TP_RPI_MAX_XFER), done = 0;
		int rc = libusb_bulk_transfer(d->h, d->ep_out, (unsigned char *)buf, chunk, &done,
					      BULK_TIMEOUT_MS);

		if (rc < 0 || done != chunk)
			return tp_err_set(rc < 0 ? tp_usb_errno(rc) : -EIO,
					  "rpiboot %s: sending %s: %s", d->path, what,
					  rc < 0 ? libusb_strerror(rc) : "short transfer");
		buf += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

/* ep_write of a whole file, read from fd in 16 KiB pieces. */
static int send_file(struct tp_rpiboot *d, int fd, uint32_t len, const char *what)
{
	uint8_t buf[TP_RPI_MAX_XFER];
	uint32_t done = 0;
	int rc = announce(d, len, what);

	while (rc == 0 && done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t n = pread(fd, buf, want, done);

		if (n <= 0)
			return tp_err_set(n < 0 ? -errno : -EIO, "rpiboot: reading %s: %s", what,
					  n < 0 ? strerror(errno) : "it shrank");
		rc = bulk_out(d, buf, (size_t)n, what);
		done += (uint32_t)n;
	}
	return rc;
}

static int ep_read(struct tp_rpiboot *d, uint8_t *buf, uint16_t len)
{
	/* After a "not found" the next request comes at once or never (a
	 * firmware that needed the file stops, §7.4): don't wait 20 s. */
	int rc = libusb_control_transfer(d->h, 0xc0, 0, len, 0, buf, len,
					 d->missing[0] ? MISSING_TIMEOUT_MS : CTRL_IN_TIMEOUT_MS);

	if (rc < 0)
		return tp_usb_errno(rc);
	return rc;
}

/* Open dir/name as a regular file no larger than the 32-bit length field. */
static int open_in(const char *dir, const char *name, uint32_t *size)
{
	char p[TP_PATH_MAX];
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > INT32_MAX) {
		close(fd);
		return -EINVAL;
	}
	*size = (uint32_t)st.st_size;
	return fd;
}

static int stage1(struct tp_rpiboot *d, const char *dir)
{
	const char *name = tp_rpi_second_stage(d->pid);
	uint8_t msg[TP_RPI_BOOT_MSG_LEN], ret[4];
	uint32_t size = 0;
	int fd, rc;

	fd = open_in(dir, name, &size);
	if (fd < 0)
		return tp_err_set(fd, "rpiboot: %s/%s: %s", dir, name, strerror(-fd));
	rc = tp_rpi_boot_msg(msg, size);
	if (rc < 0) {
		close(fd);
		return tp_err_set(rc, "rpiboot: %s/%s: bad size %u", dir, name, size);
	}
	rc = announce(d, sizeof(msg), "the boot message");
	if (rc == 0)
		rc = bulk_out(d, msg, sizeof(msg), "the boot message");
	if (rc == 0)
		rc = send_file(d, fd, size, name);
	close(fd);
	if (rc < 0)
		return rc;
	/* usbboot waits 1 s before reading the return code; whether the
	 * ROM answers an earlier read is UNVERIFIED, so keep its pause. */
	rc = tp_clock_sleep_ms(1000);
	if (rc < 0)
		return rc;
	rc = ep_read(d, ret, sizeof(ret));
	if (rc < 0)
		return tp_err_set(rc, "rpiboot %s: reading the boot ROM's return code: %s", d->path,
				  strerror(-rc));
	if (rc != (int)sizeof(ret) || (ret[0] | ret[1] | ret[2] | ret[3]))
		return tp_err_set(-EIO, "rpiboot %s: the boot ROM refused %s (return code %02x%02x%02x%02x)",
				  d->path, name, ret[3], ret[2], ret[1], ret[0]);
	TP_INFO("rpiboot %s: %s (%u bytes) accepted", d->path, name, size);
	return 0;
}

static void note_missing(struct tp_rpiboot *d, const char *name)
{
	size_t len = strlen(d->missing);

	if (strstr(d->missing, name))
		return;
	snprintf(d->missing + len, sizeof(d->missing) - len, "%s%s", len ? " " : "", name);
}

/* §7.4: answer requests until Done or the device leaves. */
static int serve(struct tp_rpiboot *d, const char *dir)
{
	int retries = 0;

	for (;;) {
		uint8_t buf[TP_RPI_REQUEST_LEN];
		struct tp_rpi_request req;
		uint32_t size = 0;
		int rc, fd;

		rc = ep_read(d, buf, sizeof(buf));
		if (rc == -ENODEV || rc == -EIO) {
			TP_INFO("rpiboot %s: second stage left the bus", d->path);
			return 0; /* it re-enumerated as what it serves */
		}
		if (rc == -ETIMEDOUT && d->missing[0])
			return tp_err_set(rc, "rpiboot %s: the second stage stopped after asking for "
					  "%s, which %s does not have", d->path, d->missing, dir);
		if (rc == -ETIMEDOUT)
			return tp_err_set(rc, "rpiboot %s: the second stage sent no file request "
					  "within %u ms", d->path, CTRL_IN_TIMEOUT_MS / 1000u * 1000u);
		if (rc < 0) {
			if (++retries > READ_RETRIES)
				return tp_err_set(rc, "rpiboot %s: reading a file request: %s",
						  d->path, strerror(-rc));
			if ((rc = tp_clock_sleep_ms(1000)) < 0)
				return rc;
			continue;
		}
		retries = 0;
		tp_rpi_request_parse(buf, (size_t)rc, &req);
		switch (req.action) {
		case TP_RPI_ACT_DONE:
			/* The ack may find the device already gone. */
			announce(d, 0, "the Done ack");
			TP_INFO("rpiboot %s: second stage done", d->path);
			return 0;
		case TP_RPI_ACT_ACK:
			TP_DBG("rpiboot %s: %s", d->path, req.name + 1);
			rc = announce(d, 0, "an ack");
			break;
		case TP_RPI_ACT_BAD:
			return tp_err_set(-EPROTO, "rpiboot %s: unknown request %d for \"%s\"",
					  d->path, req.cmd, req.name);
		case TP_RPI_ACT_NOTFOUND:
			TP_WARN("rpiboot %s: refused the name \"%s\" (\"..\" or \"/\"): answered "
				"not found", d->path, req.name);
			note_missing(d, req.name);
			rc = announce(d, 0, "not found");
			break;
		case TP_RPI_ACT_SIZE:
		case TP_RPI_ACT_READ:
			fd = open_in(dir, req.name, &size);
			if (fd < 0) {
				TP_WARN("rpiboot %s: the second stage asked for %s, not in %s: "
					"answered not found", d->path, req.name, dir);
				note_missing(d, req.name);
				rc = announce(d, 0, "not found");
				break;
			}
			if (req.action == TP_RPI_ACT_SIZE) {
				TP_DBG("rpiboot %s: size of %s: %u", d->path, req.name, size);
				rc = announce(d, size, req.name);
			} else {
				TP_DBG("rpiboot %s: sending %s (%u bytes)", d->path, req.name, size);
				rc = send_file(d, fd, size, req.name);
			}
			close(fd);
			break;
		}
		if (rc < 0)
			return rc;
	}
}

int tp_rpiboot_boot(struct tp_rpiboot *d, const char *dir, unsigned timeout_ms)
{
	char path[sizeof(d->path)];
	int rc = stage1(d, dir), serial = d->iserial;

	detach(d);
	if (rc < 0)
		return rc;
	/* Same port, same IDs, another iSerialNumber (§7.3). */
	snprintf(path, sizeof(path), "%s", d->path);
	rc = poll_attach(d, path, false, serial, timeout_ms);
	if (rc == -ETIMEDOUT)
		return tp_err_set(rc, "rpiboot %s: the second stage did not appear within %u ms",
				  path, timeout_ms);
	if (rc < 0)
		return rc;
	TP_INFO("rpiboot %s: second stage up", d->path);
	rc = serve(d, dir);
	detach(d);
	return rc;
}

void tp_rpiboot_close(struct tp_rpiboot *d)
{
	if (!d)
		return;
	detach(d);
	if (d->ctx)
		libusb_exit(d->ctx);
	free(d);
}
