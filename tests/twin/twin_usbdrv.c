// SPDX-License-Identifier: MIT
/*
 * The BMC kernel's drivers for the nodes' USB functions, as a program on
 * the BMC sees them through usbdevfs: which driver binds an interface when
 * the device enumerates, GETDRIVER, and the two USBDEVFS_IOCTL requests
 * usbfs answers itself, DISCONNECT and CONNECT (libusb's detach and attach
 * of the kernel driver). A bound driver also makes CLAIMINTERFACE and bulk
 * URBs fail with EBUSY (twin_usbfs.c). The disk a usb-storage driver makes
 * of the interface is twin_msd.c's. docs/twin.md, "Simulated USB devices",
 * "Simulated RK1", "Simulated CM4".
 *
 * Two drivers match: usb-storage, any Bulk-Only mass-storage interface
 * (08/06/50: the CM4's payload, protocols.md §8.1), and rockusb.ko, which
 * the BMC's firmware loads at boot (§6): a usb-storage "unusual device"
 * driver for vendor 0x2207 interfaces ff/06/05 whose probe refuses a
 * device without strings, the maskrom, and so binds only an RK1's loader.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>

#include <umockdev.h>

#include "twin_usb.h"

/* The driver the kernel binds to the interface of S, or NULL. The names
 * are those the drivers register (struct usb_driver .name), which is what
 * GETDRIVER answers: rockusb.ko's DRV_NAME is "rockusb". */
static const char *twin_usbdrv_match(struct twin *t, const struct twin_usb_desc *s)
{
	if (s->if_class == 0x08 && s->if_sub == 0x06 && s->if_proto == 0x50)
		return "usb-storage";
	/* --no-rockusb: a BMC without the module (firmware v2.0.5, or
	 * after rmmod rockusb). */
	if (!t->opt.no_rockusb && s->vid == 0x2207 && s->if_class == 0xff &&
	    s->if_sub == 0x06 && s->if_proto == 0x05 &&
	    (s->strings[0] || s->strings[1] || s->strings[2]))
		return "rockusb";
	return NULL;
}

/* D has just enumerated: its driver, if one matches, binds it at once and
 * its disk follows after usb-storage's delay (twin_msd.c). */
void twin_usbdrv_probe(struct twin *t, struct twin_usb_dev *d)
{
	const char *drv = twin_usbdrv_match(t, &d->desc);

	if (drv && d->slot && !d->gone && t->usb->node[d->slot].msd)
		twin_msd_attach(t->usb->node[d->slot].msd, d, drv);
}

/* GETDRIVER: the bound driver's name; ENODATA with none bound, or for an
 * interface the device does not have (devio.c proc_getdriver). */
void twin_usbdrv_getdriver(struct twin_usb_dev *d, void *client, void *data)
{
	UMockdevIoctlClient *c = client;
	UMockdevIoctlData *arg = data;
	UMockdevIoctlData *h = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_getdriver),
							   NULL);
	struct usbdevfs_getdriver *gd;

	if (!h) {
		umockdev_ioctl_client_complete(c, -1, EFAULT);
		return;
	}
	gd = (struct usbdevfs_getdriver *)h->data;
	if (d->driver && gd->interface == 0) {
		g_strlcpy(gd->driver, d->driver, sizeof(gd->driver));
		umockdev_ioctl_client_complete(c, 0, 0);
	} else {
		umockdev_ioctl_client_complete(c, -1, ENODATA);
	}
	g_object_unref(h);
}

/*
 * USBDEVFS_IOCTL: the ioctls usbfs passes on to an interface's driver, but
 * for two it answers itself (devio.c proc_ioctl). DISCONNECT unbinds the
 * driver (libusb_detach_kernel_driver): its disk goes, or never comes;
 * ENODATA when none is bound. CONNECT binds the matching driver again
 * (libusb_attach_kernel_driver) and the delay starts over: 1 when a driver
 * bound, 0 when none matches, EBUSY when one is bound already. Nothing
 * else rebinds a driver: releasing the interface does not, nor does a USB
 * reset (usb_reset_device keeps a driver with pre_reset and post_reset,
 * as usb-storage's are, and binds none to an interface that had none).
 * Limit: the twin does not track usbfs's own claims, so CONNECT on an
 * interface the caller still has claimed binds, where the kernel answers
 * EBUSY (docs/twin.md).
 */
void twin_usbdrv_ioctl(struct twin_usb_dev *d, void *client, void *data)
{
	UMockdevIoctlClient *c = client;
	UMockdevIoctlData *arg = data;
	UMockdevIoctlData *h = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ioctl),
							   NULL);
	const struct usbdevfs_ioctl *io;

	if (!h) {
		umockdev_ioctl_client_complete(c, -1, EFAULT);
		return;
	}
	io = (const struct usbdevfs_ioctl *)h->data;
	if (io->ifno != 0) {
		umockdev_ioctl_client_complete(c, -1, EINVAL);	/* no such interface */
	} else if (io->ioctl_code == (int)USBDEVFS_DISCONNECT) {
		if (!d->driver) {
			umockdev_ioctl_client_complete(c, -1, ENODATA);
		} else {
			char why[64];

			snprintf(why, sizeof(why), "%s unbound (USBDEVFS_DISCONNECT)", d->driver);
			if (d->disk)
				twin_msd_unbind(d->disk, why);
			d->driver = NULL;
			umockdev_ioctl_client_complete(c, 0, 0);
		}
	} else if (io->ioctl_code == (int)USBDEVFS_CONNECT) {
		if (d->driver) {
			umockdev_ioctl_client_complete(c, -1, EBUSY);
		} else if (d->kdriver && d->disk) {
			twin_msd_bind(d->disk);
			umockdev_ioctl_client_complete(c, 1, 0);
		} else {
			umockdev_ioctl_client_complete(c, 0, 0);	/* no driver matches */
		}
	} else {
		/* a driver's own ioctl: none is modelled (the hub driver's are
		 * not; usb-storage and rockusb have none) */
		umockdev_ioctl_client_complete(c, -1, ENOTTY);
	}
	g_object_unref(h);
}
