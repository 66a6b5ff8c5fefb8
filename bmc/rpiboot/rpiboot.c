// SPDX-License-Identifier: MIT
/*
 * rpiboot host side (protocols.md §7.1-§7.4), written from the protocol, not
 * from usbboot's main.c: one handle instead of globals, polling on tp_clock
 * instead of blind sleeps, errors with context instead of printf and exit.
 */
#include "bmc/usbpath.h"
#include "rpiboot.h"
#include "rpiboot_proto.h"
#include "rpifiles.h"
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
	unsigned served;
	uint64_t served_bytes;
	uint64_t sent_ns;       /* the second stage went to the boot ROM */
	const char *stage2;     /* its name, for the return code's message */
};

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

unsigned tp_rpiboot_served(const struct tp_rpiboot *d, uint64_t *bytes)
{
	if (bytes)
		*bytes = d->served_bytes;
	return d->served;
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

/* ep_write of a whole file, read in 16 KiB pieces. */
static int send_file(struct tp_rpiboot *d, const struct tp_rpi_file *rf, const char *what)
{
	uint8_t buf[TP_RPI_MAX_XFER];
	uint32_t done = 0, len = rf->size;
	int rc = announce(d, len, what);

	while (rc == 0 && done < len) {
		ssize_t n = tp_rpi_file_read(rf, buf, sizeof(buf), done);

		if (n <= 0)
			return tp_err_set(n < 0 ? (int)n : -EIO, "rpiboot: reading %s: %s",
					  rf->from, n < 0 ? strerror((int)-n) : "it shrank");
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

int tp_rpiboot_send_stage2(struct tp_rpiboot *d, const struct tp_rpi_files *f)
{
	const char *name = tp_rpi_second_stage(d->pid);
	uint8_t msg[TP_RPI_BOOT_MSG_LEN];
	struct tp_rpi_file rf;
	int rc;

	if (!d->h)
		return tp_err_set(-EINVAL, "rpiboot %s: not open at its boot ROM", d->path);
	if (!name)
		return tp_err_set(-EINVAL, "rpiboot %s: no second stage for 0a5c:%04x", d->path,
				  d->pid);
	rc = tp_rpi_files_open(f, name, &rf);
	if (rc == -ENOENT)
		return tp_err_set(rc, "rpiboot: %s has no %s (it was there when checked)", f->dir,
				  name);
	if (rc < 0)
		return rc;
	rc = tp_rpi_boot_msg(msg, rf.size);
	if (rc < 0) {
		tp_rpi_file_close(&rf);
		return tp_err_set(rc, "rpiboot: %s: bad size %u", rf.from, rf.size);
	}
	rc = announce(d, sizeof(msg), "the boot message");
	if (rc == 0)
		rc = bulk_out(d, msg, sizeof(msg), "the boot message");
	if (rc == 0)
		rc = send_file(d, &rf, name);
	TP_INFO("rpiboot %s: second stage %s (%u bytes)", d->path, rf.from, rf.size);
	tp_rpi_file_close(&rf);
	if (rc < 0)
		return rc;
	d->stage2 = name;
	d->sent_ns = tp_clock_now_ns();
	return 0;
}

int tp_rpiboot_rom_answer(struct tp_rpiboot *d)
{
	uint64_t now = tp_clock_now_ns(), due = d->sent_ns + 1000000000ull;
	uint8_t ret[4];
	int rc = 0;

	if (!d->h || !d->stage2)
		return tp_err_set(-EINVAL, "rpiboot %s: no second stage sent", d->path);
	/* usbboot waits 1 s before reading the return code; whether the
	 * ROM answers an earlier read is UNVERIFIED, so keep its pause —
	 * counted from the send, so that other nodes' work fills it. */
	if (now && now < due)
		rc = tp_clock_sleep_ms((unsigned)((due - now + 999999) / 1000000));
	if (rc == 0) {
		rc = ep_read(d, ret, sizeof(ret));
		if (rc < 0)
			rc = tp_err_set(rc, "rpiboot %s: reading the boot ROM's return code: %s",
					d->path, strerror(-rc));
		else if (rc != (int)sizeof(ret) || (ret[0] | ret[1] | ret[2] | ret[3]))
			rc = tp_err_set(-EIO, "rpiboot %s: the boot ROM refused %s (return code "
					"%02x%02x%02x%02x)", d->path, d->stage2, ret[3], ret[2],
					ret[1], ret[0]);
		else
			rc = 0;
	}
	detach(d);
	if (rc == 0)
		TP_INFO("rpiboot %s: %s accepted", d->path, d->stage2);
	return rc;
}

static void note_missing(struct tp_rpiboot *d, const char *name)
{
	size_t len = strlen(d->missing);

	if (strstr(d->missing, name))
		return;
	snprintf(d->missing + len, sizeof(d->missing) - len, "%s%s", len ? " " : "", name);
}

/* §7.4: answer requests until Done or the device leaves. */
static int serve(struct tp_rpiboot *d, const struct tp_rpi_files *f)
{
	int retries = 0;

	for (;;) {
		uint8_t buf[TP_RPI_REQUEST_LEN];
		struct tp_rpi_request req;
		struct tp_rpi_file rf;
		int rc;

		rc = ep_read(d, buf, sizeof(buf));
		if (rc == -ENODEV || rc == -EIO) {
			TP_INFO("rpiboot %s: second stage left the bus", d->path);
			return 0; /* it re-enumerated as what it serves */
		}
		if (rc == -ETIMEDOUT && d->missing[0])
			return tp_err_set(rc, "rpiboot %s: the second stage stopped after asking for "
					  "%s, which %s does not have", d->path, d->missing, f->dir);
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
			rc = tp_rpi_files_open(f, req.name, &rf);
			if (rc == -ENOENT) {
				/* Normal for optional files (pieeprom.sig,
				 * fixup4.dat): said at -v, kept for the error
				 * if no disk follows. */
				TP_INFO("rpiboot %s: the second stage asked for %s, not in the "
					"%s set in %s: answered not found", d->path, req.name,
					tp_rpi_fw_title(f->fw), f->dir);
				note_missing(d, req.name);
				rc = announce(d, 0, "not found");
				break;
			}
			if (rc < 0)
				return rc;
			if (req.action == TP_RPI_ACT_SIZE) {
				TP_DBG("rpiboot %s: size of %s: %u", d->path, req.name, rf.size);
				rc = announce(d, rf.size, req.name);
			} else {
				TP_INFO("rpiboot %s: sending %s (%u bytes)", d->path, rf.from,
					rf.size);
				rc = send_file(d, &rf, req.name);
				if (rc == 0) {
					d->served++;
					d->served_bytes += rf.size;
				}
			}
			tp_rpi_file_close(&rf);
			break;
		}
		if (rc < 0)
			return rc;
	}
}

int tp_rpiboot_serve(struct tp_rpiboot *d, const struct tp_rpi_files *f, unsigned timeout_ms)
{
	char path[sizeof(d->path)];
	int rc;

	if (!d->stage2 || d->h)
		return tp_err_set(-EINVAL, "rpiboot %s: the boot ROM has not taken a second stage",
				  d->path);
	/* Same port, same IDs, another iSerialNumber (§7.3). */
	snprintf(path, sizeof(path), "%s", d->path);
	rc = poll_attach(d, path, false, d->iserial, timeout_ms);
	if (rc == -ETIMEDOUT)
		return tp_err_set(rc, "rpiboot %s: the second stage did not appear within %u ms",
				  path, timeout_ms);
	if (rc < 0)
		return rc;
	TP_INFO("rpiboot %s: second stage up", d->path);
	rc = serve(d, f);
	detach(d);
	return rc;
}

void tp_rpiboot_close(struct tp_rpiboot *d)
{
	if (!d)
		return;
	detach(d);
	tp_usb_ctx_free(&d->ctx);
	free(d);
}
