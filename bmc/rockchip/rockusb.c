// SPDX-License-Identifier: MIT
/*
 * Finding and opening an RK3588 on USB, the maskrom download, and waiting for
 * the loader it starts. Section numbers refer to
 * docs/protocols.md. Commands to the loader are in rockusb_cmd.c.
 */
#include "bmc/usbpath.h"
#include "internal.h"
#include "ldr.h"
#include "maskrom.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* bmcd (through rusb) gives each maskrom transfer 5 s (§4.3). */
#define MASKROM_TIMEOUT_MS 5000
/* Re-enumeration is polled, never waited out blindly (§4.3). */

const char *rk_xfer_hint(int err)
{
	switch (err) {
	case -ENODEV:
		return "the device disconnected: check the node's power and USB routing, "
		       "then flash again (the eMMC is only partly written)";
	case -ETIMEDOUT:
		return "the device stopped answering: power-cycle the node into maskrom and "
		       "flash again";
	case -EPIPE:
		return "the device stalled the endpoint (it refused the command)";
	case -EACCES:
		return "permission denied: run as root or add a udev rule for 2207:350b";
	case -EBUSY:
		return "another program has the device open";
	default:
		return "USB I/O error: check the cable and USB routing, then flash again";
	}
}

/*
 * One scan of the bus: the first 2207:350b at path (any if path is NULL)
 * whose mode is want (or either if want < 0). Returns a referenced device or
 * NULL. Called afresh on every poll: libusb only learns of re-enumerated
 * devices through udev events, so an old list would go stale.
 */
static libusb_device *scan(libusb_context *ctx, const char *path, int want,
			   enum tp_rockusb_mode *mode, char *found_path, size_t size)
{
	libusb_device **list, *hit = NULL;
	ssize_t n = libusb_get_device_list(ctx, &list);

	for (ssize_t i = 0; i < n && !hit; i++) {
		struct libusb_device_descriptor dd;
		char p[32];

		if (libusb_get_device_descriptor(list[i], &dd) < 0 ||
		    dd.idVendor != TP_ROCKUSB_VID || dd.idProduct != TP_ROCKUSB_PID_RK3588)
			continue;
		tp_usb_path(list[i], p, sizeof(p));
		if (!tp_usb_path_match(path, p))
			continue;
		/* bcdUSB bit 0: 0 = maskrom, 1 = loader (§2; bmcd and
		 * rkdeveloptool both use it). */
		*mode = (dd.bcdUSB & 1) ? TP_ROCKUSB_LOADER : TP_ROCKUSB_MASKROM;
		if (want >= 0 && (int)*mode != want)
			continue;
		snprintf(found_path, size, "%s", p);
		hit = libusb_ref_device(list[i]);
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	return hit;
}

/*
 * The loader's rockusb interface: class ff/06/05 with one bulk IN and one
 * bulk OUT; rkdeveloptool also takes a mass-storage 08/06/50 one (§2). The
 * first endpoint of each direction is the one used.
 */
static int find_interface(struct tp_rockusb *d, libusb_device *dev)
{
	struct libusb_config_descriptor *cfg;
	int rc = libusb_get_active_config_descriptor(dev, &cfg), best = -1;

	if (rc < 0)
		return tp_err_set(tp_usb_errno(rc), "rockusb %s: no configuration descriptor: %s",
				  d->path, libusb_strerror(rc));
	for (int pass = 0; pass < 2 && best < 0; pass++) {
		for (int i = 0; i < cfg->bNumInterfaces && best < 0; i++) {
			const struct libusb_interface_descriptor *a;

			if (cfg->interface[i].num_altsetting < 1)
				continue;
			a = &cfg->interface[i].altsetting[0];
			if (pass == 0 ? (a->bInterfaceClass != 0xFF || a->bInterfaceSubClass != 0x06 ||
					 a->bInterfaceProtocol != 0x05)
				      : (a->bInterfaceClass != 0x08 || a->bInterfaceSubClass != 0x06 ||
					 a->bInterfaceProtocol != 0x50))
				continue;
			d->ep_in = d->ep_out = 0;
			for (int e = 0; e < a->bNumEndpoints; e++) {
				const struct libusb_endpoint_descriptor *ep = &a->endpoint[e];

				if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
					continue;
				if ((ep->bEndpointAddress & 0x80) && !d->ep_in)
					d->ep_in = ep->bEndpointAddress;
				else if (!(ep->bEndpointAddress & 0x80) && !d->ep_out)
					d->ep_out = ep->bEndpointAddress;
			}
			if (d->ep_in && d->ep_out)
				best = a->bInterfaceNumber;
		}
	}
	libusb_free_config_descriptor(cfg);
	if (best < 0)
		return tp_err_set(-ENODEV,
				  "rockusb %s: loader has no rockusb interface (ff/06/05 with bulk "
				  "IN and OUT)",
				  d->path);
	d->ifnum = best;
	return 0;
}

static int claim(struct tp_rockusb *d, libusb_device *dev)
{
	int rc = find_interface(d, dev);

	if (rc < 0)
		return rc;
	/* On the BMC, rockusb.ko (usb-storage) binds the loader and makes it
	 * /dev/sdX (§6); take it over. An error from the query means no
	 * driver we could detach, so claim straight away. */
	if (libusb_kernel_driver_active(d->h, d->ifnum) == 1) {
		rc = libusb_detach_kernel_driver(d->h, d->ifnum);
		if (rc < 0 && rc != LIBUSB_ERROR_NOT_FOUND)
			return tp_err_set(tp_usb_errno(rc),
					  "rockusb %s: cannot detach the kernel driver: %s",
					  d->path, libusb_strerror(rc));
		d->detached = rc == 0;
	}
	rc = libusb_claim_interface(d->h, d->ifnum);
	if (rc < 0) {
		int err = tp_usb_errno(rc);

		d->ifnum = -1;
		return tp_err_set(err, "rockusb %s: cannot claim interface: %s; %s", d->path,
				  libusb_strerror(rc), rk_xfer_hint(err));
	}
	return rk_engine_init(d);
}

static void detach(struct tp_rockusb *d);

/* Open dev (already known to be in mode) into d; claims a loader. */
static int attach(struct tp_rockusb *d, libusb_device *dev, enum tp_rockusb_mode mode)
{
	int rc = libusb_open(dev, &d->h);

	if (rc < 0) {
		int err = tp_usb_errno(rc);

		d->h = NULL;
		return tp_err_set(err, "rockusb %s: cannot open: %s; %s", d->path,
				  libusb_strerror(rc), rk_xfer_hint(err));
	}
	d->mode = mode;
	d->bus = libusb_get_bus_number(dev);
	d->addr = libusb_get_device_address(dev);
	if (mode == TP_ROCKUSB_LOADER) {
		rc = claim(d, dev);
		if (rc < 0) {
			detach(d);
			return rc;
		}
	}
	TP_INFO("rockusb %s: %s at bus %u address %u", d->path,
		mode == TP_ROCKUSB_LOADER ? "loader" : "maskrom", d->bus, d->addr);
	return 0;
}

static void detach(struct tp_rockusb *d)
{
	rk_engine_free(d);
	if (d->h) {
		if (d->ifnum >= 0)
			libusb_release_interface(d->h, d->ifnum);
		libusb_close(d->h);
	}
	d->h = NULL;
	d->ifnum = -1;
}

struct rk_look {
	struct tp_rockusb *d;
	const char *path;
	int want; /* a mode, or -1 for either */
};

/* One look for a device at path in mode want, opened into d on a hit. */
static int rk_look(void *cookie, int *open_err)
{
	struct rk_look *l = cookie;
	struct tp_rockusb *d = l->d;
	enum tp_rockusb_mode mode;
	char p[sizeof(d->path)];
	libusb_device *dev;
	int rc = tp_usb_ctx_renew(&d->ctx, "rockusb");

	if (rc < 0)
		return rc;
	dev = scan(d->ctx, l->path, l->want, &mode, p, sizeof(p));
	if (!dev)
		return 1;
	snprintf(d->path, sizeof(d->path), "%s", p);
	rc = attach(d, dev, mode);
	libusb_unref_device(dev);
	if (rc == 0)
		return 0;
	*open_err = rc;
	TP_DBG("%s", tp_err_msg());
	return 1;
}

/* Poll until a device at path in mode want (-1: either) is opened into d;
 * -ETIMEDOUT with no message if nothing came. */
static int poll_attach(struct tp_rockusb *d, const char *path, int want, unsigned timeout_ms)
{
	struct rk_look l = { d, path, want };
	uint64_t start = tp_clock_now_ns();
	int open_err, rc = tp_usb_poll(timeout_ms, rk_look, &l, &open_err);

	if (rc == 0)
		TP_INFO("rockusb %s: %s up after %llu ms", d->path,
			d->mode == TP_ROCKUSB_MASKROM ? "maskrom" : "loader",
			(unsigned long long)((tp_clock_now_ns() - start) / 1000000u));
	if (rc == -ETIMEDOUT && open_err)
		return tp_err_prefix(open_err, "rockusb %s: device appeared but: ", d->path);
	return rc;
}

int tp_rockusb_wait_device(const char *path, unsigned timeout_ms, struct tp_rockusb **out)
{
	struct tp_rockusb *d = calloc(1, sizeof(*d));
	int rc;

	*out = NULL;
	if (!d)
		return tp_err_set(-ENOMEM, "rockusb: out of memory");
	d->ifnum = -1;
	rc = poll_attach(d, path, -1, timeout_ms);
	if (rc == 0) {
		*out = d;
		return 0;
	}
	if (rc == -ETIMEDOUT)
		tp_err_set(rc,
			   "no RK3588 (2207:350b) appeared %s%s within %u ms: is a module in "
			   "the slot, and does it enter maskrom with its boot strap?",
			   path ? "at USB path " : "on USB", path ? path : "", timeout_ms);
	tp_usb_ctx_free(&d->ctx);
	free(d);
	return rc;
}

int tp_rockusb_open(const char *path, struct tp_rockusb **out)
{
	struct tp_rockusb *d = calloc(1, sizeof(*d));
	enum tp_rockusb_mode mode;
	libusb_device *dev;
	int rc;

	*out = NULL;
	if (!d)
		return tp_err_set(-ENOMEM, "rockusb: out of memory");
	d->ifnum = -1;
	rc = tp_usb_ctx_renew(&d->ctx, "rockusb");
	if (rc < 0) {
		free(d);
		return rc;
	}
	dev = scan(d->ctx, path, -1, &mode, d->path, sizeof(d->path));
	if (!dev) {
		rc = tp_err_set(-ENODEV,
				"no RK3588 (2207:350b) %s%s: is the node powered and its USB in "
				"flash mode?",
				path ? "at USB path " : "on USB", path ? path : "");
		goto fail;
	}
	rc = attach(d, dev, mode);
	libusb_unref_device(dev);
	if (rc < 0)
		goto fail;
	*out = d;
	return 0;
fail:
	tp_usb_ctx_free(&d->ctx);
	free(d);
	return rc;
}

enum tp_rockusb_mode tp_rockusb_mode(const struct tp_rockusb *d)
{
	return d->mode;
}

const char *tp_rockusb_path(const struct tp_rockusb *d)
{
	return d->path;
}

static int maskrom_xfer(void *cookie, uint16_t area, const uint8_t *buf, size_t len, int last)
{
	struct tp_rockusb *d = cookie;
	int rc = libusb_control_transfer(d->h, TP_MASKROM_REQTYPE, TP_MASKROM_REQUEST, 0, area,
					 (unsigned char *)buf, (uint16_t)len, MASKROM_TIMEOUT_MS);

	if (rc == (int)len)
		return 0;
	/* The usbplug starts on the last transfer; if it drops off the bus
	 * before the status stage completes, the download still happened.
	 * The wait for the loader tells (UNVERIFIED device behaviour, §4.3). */
	if (last && rc == LIBUSB_ERROR_NO_DEVICE) {
		TP_WARN("rockusb %s: device left during the last maskrom transfer", d->path);
		return 0;
	}
	/* The 1-byte terminator after a 4094-byte tail: how the ROM answers
	 * it is UNVERIFIED (§4.3), so a refusal is not fatal; the area data
	 * and CRC are already through. */
	if (len == 1 && buf[0] == 0 && rc < 0 && rc != LIBUSB_ERROR_NO_DEVICE) {
		TP_WARN("rockusb %s: maskrom refused the 1-byte area terminator (%s); continuing",
			d->path, libusb_strerror(rc));
		return 0;
	}
	if (rc >= 0)
		return tp_err_set(-EIO, "rockusb %s: maskrom took %d of %zu bytes (area 0x%04x)",
				  d->path, rc, len, area);
	return tp_err_set(tp_usb_errno(rc), "rockusb %s: maskrom transfer of %zu bytes (area 0x%04x) "
			  "failed: %s; %s", d->path, len, area, libusb_strerror(rc),
			  rk_xfer_hint(tp_usb_errno(rc)));
}

int tp_rockusb_download(struct tp_rockusb *d, const struct tp_ldr *ldr)
{
	int rc;

	if (d->mode != TP_ROCKUSB_MASKROM || !d->h)
		return tp_err_set(-EINVAL, "rockusb %s: not in maskrom: no loader download needed",
				  d->path);
	TP_INFO("rockusb %s: downloading %s", d->path, tp_ldr_name(ldr));
	rc = tp_maskrom_download(ldr, maskrom_xfer, d);
	/* The device re-enumerates after the 0x472 area (§4.3): the handle is
	 * dead either way. */
	detach(d);
	return rc;
}

int tp_rockusb_wait_loader(struct tp_rockusb *d, unsigned timeout_ms)
{
	char path[sizeof(d->path)];
	int rc;

	detach(d);
	/* The loader comes back at the boot ROM's port, in loader mode. */
	snprintf(path, sizeof(path), "%s", d->path);
	rc = poll_attach(d, path, TP_ROCKUSB_LOADER, timeout_ms);
	if (rc == -ETIMEDOUT)
		return tp_err_set(rc,
				  "rockusb %s: no loader within %u ms of the maskrom download: the "
				  "loader may not suit this module, or the node lost power; "
				  "power-cycle it into maskrom and try again",
				  path, timeout_ms);
	return rc;
}

int tp_rockusb_open_loader(const char *path, const char *loader_path, unsigned timeout_ms,
			   struct tp_rockusb **out)
{
	struct tp_ldr *ldr = NULL;
	struct tp_rockusb *d = NULL;
	int rc = 0;

	*out = NULL;
#ifdef CONFIG_TPKIT_RK1_LOADER
	if (!loader_path)
		loader_path = CONFIG_TPKIT_RK1_LOADER;
#endif
	/* Validate first, even if the device turns out to be a loader
	 * already: a corrupt loader must never reach a device, and a broken
	 * install should show on the first run, not the first maskrom. */
	if (loader_path)
		TP_TRY(tp_ldr_open(loader_path, "3588", &ldr));
	TP_TRY(tp_rockusb_open(path, &d));
	if (d->mode == TP_ROCKUSB_MASKROM) {
		if (!ldr)
			TP_FAIL(-EINVAL, "rockusb %s: device is in maskrom and no loader file was given",
				d->path);
		TP_TRY(tp_rockusb_download(d, ldr));
		TP_TRY(tp_rockusb_wait_loader(d, timeout_ms));
	}
	*out = d;
	d = NULL;
out:
	tp_rockusb_close(d);
	tp_ldr_free(ldr);
	return rc;
}

int tp_rockusb_give_back(struct tp_rockusb *d)
{
	int rc = 0;

	if (d->h && d->ifnum >= 0) {
		libusb_release_interface(d->h, d->ifnum);
		if (d->detached && (rc = libusb_attach_kernel_driver(d->h, d->ifnum)) < 0)
			rc = tp_err_set(tp_usb_errno(rc),
					"rockusb %s: cannot give the loader back to the kernel's "
					"rockusb driver: %s",
					d->path, libusb_strerror(rc));
		d->ifnum = -1;
		d->detached = false;
	}
	tp_rockusb_close(d);
	return rc;
}

void tp_rockusb_close(struct tp_rockusb *d)
{
	if (!d)
		return;
	detach(d);
	tp_usb_ctx_free(&d->ctx);
	free(d);
}
