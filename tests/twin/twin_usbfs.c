// SPDX-License-Identifier: MIT
/*
 * The usbdevfs side of the simulated devices: the ioctls a libusb client
 * makes on /dev/bus/usb/BBB/DDD (toolchain.md §7.3), URB queues per
 * device, endpoint halts, standard requests, and the timing of every
 * transfer (twin_usbtime.c). What a device answers is its type's business
 * (struct twin_usb_ops).
 *
 * umockdev calls handle-ioctl in its worker thread; every call is handed
 * to the twin's GLib main loop, so the board, the clock and the devices
 * are only ever touched by one thread. A client is blocked in its ioctl
 * until complete(), which is what lets the handler read and write its
 * memory (umockdev_ioctl_data_resolve) from the main thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>

#include <umockdev.h>

#include "twin_usb.h"

#define TWIN_USB_CAPS	(USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION | \
			 USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_BULK_SCATTER_GATHER | \
			 USBDEVFS_CAP_REAP_AFTER_DISCONNECT)

struct twin_urb {
	UMockdevIoctlData *data;	/* struct usbdevfs_urb (a ref) */
	UMockdevIoctlData *buf;		/* its buffer, NULL when empty */
	uint64_t submit;
	bool idle;			/* nothing of the device was queued */
	uint64_t end;
	size_t done;			/* bulk: bytes moved so far */
	unsigned pieces;		/* bulk: pieces the device has taken */
	bool wait_ok;			/* NAKed where a host may wait (xfer.nak_wait) */
};

struct twin_usb_call {
	struct twin_usb_dev *d;
	UMockdevIoctlClient *client;
};

static struct usbdevfs_urb *twin_urb_u(struct twin_urb *r)
{
	return (struct usbdevfs_urb *)r->data->data;
}

static void twin_usb_violation(struct twin_usb_dev *d, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void twin_usb_violation(struct twin_usb_dev *d, const char *fmt, ...)
{
	char what[24];
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (d->slot)
		snprintf(what, sizeof(what), "node%u", d->slot);
	else
		snprintf(what, sizeof(what), "usb%s", d->sysname);
	twin_timeline_violation(d->t, what, "%s %s", d->ops->kind, msg);
	g_free(msg);
}

static gboolean twin_usb_call_run(gpointer data);

/* umockdev's worker thread: hand the call to the main loop. */
int twin_usbfs_on_ioctl(void *h, void *c, void *data)
{
	struct twin_usb_call *call = g_new0(struct twin_usb_call, 1);

	(void)h;
	call->d = data;
	call->client = g_object_ref(c);
	g_main_context_invoke(NULL, twin_usb_call_run, call);
	return TRUE;
}

static void twin_urb_free(struct twin_urb *r)
{
	g_clear_object(&r->buf);
	g_clear_object(&r->data);
	g_free(r);
}

void twin_usb_dev_halt(struct twin_usb_dev *d, uint8_t ep)
{
	d->halted[(ep & 0x0f) | (ep & 0x80 ? 16 : 0)] = true;
}

static bool *twin_usb_halt_flag(struct twin_usb_dev *d, uint8_t ep)
{
	return &d->halted[(ep & 0x0f) | (ep & 0x80 ? 16 : 0)];
}

/* Standard GET_DESCRIPTOR (USB 2.0 §9.4.3); strings in UTF-16LE. */
static void twin_usb_std_request(struct twin_usb_dev *d, struct twin_xfer *x)
{
	const uint8_t *s = x->setup;
	uint8_t raw[256];
	size_t n = 0;
	unsigned type = s[3], idx = s[2];
	int si;

	x->status = -EPIPE;
	if (s[0] == 0x80 && s[1] == 0x00) {		/* GET_STATUS */
		raw[0] = raw[1] = 0;
		n = 2;
	} else if (s[0] != 0x80 || s[1] != 0x06) {
		return;					/* STALL: not supported */
	} else if (type == 1 || type == 2) {
		n = twin_usb_desc_build(&d->desc, raw);
		if (type == 1) {
			n = 18;
		} else {
			memmove(raw, raw + 18, n - 18);
			n -= 18;
		}
	} else if (type == 3 && idx == 0 && d->desc.strings[0]) {
		raw[0] = 4; raw[1] = 3; raw[2] = 0x09; raw[3] = 0x04;
		n = 4;
	} else if (type == 3 && idx >= 1 &&
		   (si = idx == twin_usb_str_index(&d->desc, 0) ? 0 :
			 idx == twin_usb_str_index(&d->desc, 1) ? 1 :
			 idx == twin_usb_str_index(&d->desc, 2) ? 2 : -1) >= 0) {
		const char *str = d->desc.strings[si];

		for (n = 2; *str && n < sizeof(raw) - 1; str++) {
			raw[n++] = (uint8_t)*str;
			raw[n++] = 0;
		}
		raw[0] = (uint8_t)n;
		raw[1] = 3;
	} else {
		return;
	}
	x->actual = n < x->len ? n : x->len;
	memcpy(x->buf, raw, x->actual);
	x->status = 0;
}

/*
 * A bulk URB as the device sees it: not as one transfer but as a stream of
 * packets on its endpoint, of which the host's transfer boundaries are
 * invisible (USB 2.0 §5.8; docs/twin.md, "Simulated USB devices"). The
 * layer hands the device the URB in pieces of at most TWIN_USB_PIECE
 * bytes (whole packets), the next piece where the device stopped:
 *
 * - OUT: the device takes a piece or the packets it wants of it
 *   (x->actual, a multiple of 512 when less than offered); the rest goes
 *   on as the next piece, so a host transfer may hold more than one of
 *   the device's units (any number of 16 KiB ep_write chunks, say).
 * - IN: the device fills a piece with what it has; the transfer goes on
 *   while the device ended on a packet boundary, since no short packet
 *   told the host the data had ended, and ends with a short packet (or a
 *   zero-length one), or when it is full. So an IN longer than the data
 *   left gets the data, and what the device sends next (a CSW) follows
 *   in the same transfer only if the data filled whole packets.
 *
 * A piece the device NAKs leaves the URB queued with what it has moved;
 * it goes on when the device can. Each piece takes its own bus time.
 */
static bool twin_usb_bulk_run(struct twin_usb_dev *d, struct twin_urb *r,
			      bool *halt, int *status)
{
	struct twin *t = d->t;
	struct usbdevfs_urb *u = twin_urb_u(r);
	uint8_t *b = r->buf ? r->buf->data : NULL;
	size_t total = (size_t)u->buffer_length;
	bool in = u->endpoint & 0x80;
	uint64_t earliest, start;

	for (;;) {
		struct twin_xfer x = { .ep = u->endpoint, .buf = b ? b + r->done : NULL };

		x.len = total - r->done < TWIN_USB_PIECE ? total - r->done : TWIN_USB_PIECE;
		x.actual = in ? 0 : x.len;	/* OUT: all of it, unless it says */
		if (*halt)
			x.status = -EPIPE;	/* until CLEAR_HALT */
		else if (d->ops->bulk)
			d->ops->bulk(d, &x);
		else
			x.status = -EPIPE;
		if (!in && !x.status && x.len && !x.actual)
			x.status = -EAGAIN;	/* took nothing: not now */
		if (x.status == -EAGAIN) {
			r->wait_ok = x.nak_wait;
			return false;
		}
		earliest = r->pieces ? r->end :
			   r->idle ? twin_usbtime_idle_start(t, r->submit) : r->submit;
		twin_usbtime_schedule(t, d, &x, earliest, &start, &r->end);
		r->pieces++;
		if (x.status == -EPIPE)
			*halt = true;
		if (in || !x.status)
			r->done += x.actual;
		if (d->ops->done)
			d->ops->done(d, &x, r->end);
		*status = x.status;
		if (x.status || r->done == total ||
		    (in && (!x.actual || x.actual % TWIN_USB_BULK_PACKET)))
			return true;
	}
}

/* Run one URB against the device. Returns false if the device NAKs it
 * (it stays queued); otherwise fills in the URB's result and time. */
static bool twin_usb_urb_run(struct twin_usb_dev *d, struct twin_urb *r)
{
	struct twin *t = d->t;
	struct usbdevfs_urb *u = twin_urb_u(r);
	uint8_t *b = r->buf ? r->buf->data : NULL;
	struct twin_xfer x = { .ep = u->endpoint };
	uint64_t earliest, start;
	bool *halt = twin_usb_halt_flag(d, u->endpoint);
	int status = 0;

	if (u->type != USBDEVFS_URB_TYPE_CONTROL) {
		if (!twin_usb_bulk_run(d, r, halt, &status))
			return false;
		twin_usbtime_account(d, u->endpoint, r->done, r->submit, r->end);
		u->status = status;
		u->actual_length = (int)r->done;
		return true;
	}
	x.control = true;
	x.setup = b;
	x.buf = b + 8;
	x.len = (size_t)(b[6] | b[7] << 8);
	x.ep = b[0] & 0x80;
	if ((x.setup[0] & 0x60) == 0)
		twin_usb_std_request(d, &x);
	else if (d->ops->control)
		d->ops->control(d, &x);
	else
		x.status = -EPIPE;
	if (x.status == -EAGAIN)
		return false;

	earliest = r->idle ? twin_usbtime_idle_start(t, r->submit) : r->submit;
	twin_usbtime_schedule(t, d, &x, earliest, &start, &r->end);
	u->status = x.status;
	u->actual_length = x.status ? (int)((x.ep & 0x80) ? x.actual : 0) :
			   (int)((x.ep & 0x80) ? x.actual : x.len);
	if (d->ops->done)
		d->ops->done(d, &x, r->end);
	return true;
}

/* Serve queued URBs while the device takes them, keeping each endpoint's
 * URBs in order (a NAKed URB blocks those behind it on its endpoint). */
static void twin_usb_pump(struct twin_usb_dev *d)
{
	bool progress = true;

	while (progress && !d->gone) {
		uint32_t blocked = 0;

		progress = false;
		for (GList *l = d->pending.head; l; l = l->next) {
			struct twin_urb *r = l->data;
			uint8_t ep = twin_urb_u(r)->endpoint;
			uint32_t bit = 1u << ((ep & 0x0f) | (ep & 0x80 ? 16 : 0));

			if (blocked & bit)
				continue;
			if (!twin_usb_urb_run(d, r)) {
				blocked |= bit;
				continue;
			}
			g_queue_delete_link(&d->pending, l);
			g_queue_push_tail(&d->done, r);
			progress = true;
			break;
		}
	}
}

static void twin_usb_submit(struct twin_usb_dev *d, UMockdevIoctlClient *c,
			    UMockdevIoctlData *arg)
{
	GError *err = NULL;
	struct twin_urb *r = g_new0(struct twin_urb, 1);
	struct usbdevfs_urb *u;
	bool ok_ep;

	r->data = umockdev_ioctl_data_resolve(arg, 0, sizeof(*u), &err);
	if (!r->data)
		goto einval;
	u = twin_urb_u(r);
	if (u->buffer_length > 0) {
		r->buf = umockdev_ioctl_data_resolve(r->data,
			G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
			(size_t)u->buffer_length, &err);
		if (!r->buf)
			goto einval;
	}
	if (u->type == USBDEVFS_URB_TYPE_CONTROL) {
		/* usbfs: the buffer is the setup packet plus wLength. */
		if (u->endpoint != 0 || u->buffer_length < 8 ||
		    u->buffer_length < 8 + (r->buf->data[6] | r->buf->data[7] << 8))
			goto einval;
	} else if (u->type == USBDEVFS_URB_TYPE_BULK) {
		ok_ep = (d->desc.ep_in && u->endpoint == d->desc.ep_in) ||
			(d->desc.ep_out && u->endpoint == d->desc.ep_out);
		if (!ok_ep) {
			twin_usb_violation(d, "got a bulk URB for endpoint 0x%02x, which it does not have",
					   u->endpoint);
			umockdev_ioctl_client_complete(c, -1, ENOENT);
			twin_urb_free(r);
			return;
		}
		if (d->driver) {
			/* usbfs claims the endpoint's interface for the
			 * caller (devio.c checkintf), which fails while a
			 * kernel driver has it. */
			umockdev_ioctl_client_complete(c, -1, EBUSY);
			twin_urb_free(r);
			return;
		}
	} else {
		twin_usb_violation(d, "got a URB of type %u (only control and bulk are modelled)",
				   u->type);
		goto einval;
	}
	r->submit = d->t->board.now_ns;
	r->idle = g_queue_is_empty(&d->pending) && g_queue_is_empty(&d->done);
	g_queue_push_tail(&d->pending, r);
	/* Run what can run before completing the SUBMITURB: complete() hands
	 * the call to umockdev's worker thread, which writes the call's
	 * resolved memory (this URB and its buffer among it) back to the
	 * client, and must not do so while this thread is filling them. It
	 * did: a half-filled IN buffer (zeroed, not yet read from the eMMC)
	 * reached the client, and when the data then matched what the
	 * client's buffer held before the submit, the reap wrote nothing
	 * more (umockdev writes back only what changed), leaving zeros. */
	twin_usb_pump(d);
	umockdev_ioctl_client_complete(c, 0, 0);
	return;
einval:
	if (err)
		fprintf(stderr, "tp-twin: SUBMITURB: %s\n", err->message);
	g_clear_error(&err);
	umockdev_ioctl_client_complete(c, -1, EINVAL);
	twin_urb_free(r);
}

/* The host waits for a URB the device will never take: it expects a
 * transfer in the wrong direction or stage (protocols.md §5). A real host
 * would hang; the twin STALLs the oldest one and says so. */
static void twin_usb_deadlock(struct twin_usb_dev *d)
{
	struct twin_urb *r = NULL;
	struct usbdevfs_urb *u;

	/* A URB NAKed where a host may wait on purpose (xfer.nak_wait) is
	 * the host's to time out; only the others deadlock. */
	for (GList *l = d->pending.head; l; l = l->next)
		if (!((struct twin_urb *)l->data)->wait_ok) {
			r = l->data;
			g_queue_delete_link(&d->pending, l);
			break;
		}
	if (!r)
		return;
	u = twin_urb_u(r);

	twin_usb_violation(d, "cannot take the %s transfer the host waits for on endpoint 0x%02x (wrong direction or stage): STALL",
			   u->endpoint & 0x80 ? "IN" : "OUT", u->endpoint);
	if (u->type != USBDEVFS_URB_TYPE_CONTROL)
		*twin_usb_halt_flag(d, u->endpoint) = true;
	u->status = -EPIPE;
	u->actual_length = (int)r->done;
	r->end = d->t->board.now_ns;
	g_queue_push_tail(&d->done, r);
}

/*
 * URBs are run when they are submitted, so the done queue can hold
 * completions that still lie in the virtual future. A real host learns of
 * them one at a time, as each completes, and acts on each (queues the next
 * command) while the later ones are still on the bus. So a non-blocking reap
 * right after one that returned a URB answers EAGAIN when the next
 * completion has not happened yet: the host goes back to its work. A reap
 * after that (the host now waits, or blocks in REAPURB) moves the clock to
 * the next completion. Reaping a whole batch at once would jump the clock
 * past every command in flight and make each new one start on an idle bus,
 * which is the very cost the model charges clients that queue nothing.
 */
static void twin_usb_reap(struct twin_usb_dev *d, UMockdevIoctlClient *c,
			  UMockdevIoctlData *arg, bool nodelay)
{
	struct twin *t = d->t;
	UMockdevIoctlData *ptr;
	struct twin_urb *r;

	if (g_queue_is_empty(&d->done) && !g_queue_is_empty(&d->pending) && !d->gone &&
	    !d->unresponsive)
		twin_usb_deadlock(d);
	r = g_queue_peek_head(&d->done);
	if (r && nodelay && d->reaped_last && r->end > t->board.now_ns) {
		d->reaped_last = false;
		umockdev_ioctl_client_complete(c, -1, EAGAIN);
		return;
	}
	r = g_queue_pop_head(&d->done);
	d->reaped_last = r && nodelay;
	if (!r) {
		umockdev_ioctl_client_complete(c, -1, d->gone ? ENODEV : EAGAIN);
		return;
	}
	/* The host sees the URB complete when the bus is done with it. */
	if (r->end > t->board.now_ns &&
	    twin_board_clock_advance(t, r->end - t->board.now_ns))
		twin_timeline_violation(t, "twin", "the virtual clock overflowed");
	ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
	if (!ptr) {
		umockdev_ioctl_client_complete(c, -1, EFAULT);
		twin_urb_free(r);
		return;
	}
	umockdev_ioctl_data_set_ptr(ptr, 0, r->data);
	umockdev_ioctl_client_complete(c, 0, 0);
	g_object_unref(ptr);
	twin_urb_free(r);
}

static void twin_usb_discard(struct twin_usb_dev *d, UMockdevIoctlClient *c,
			     UMockdevIoctlData *arg)
{
	gulong addr = *(gulong *)arg->data;

	for (GList *l = d->pending.head; l; l = l->next) {
		struct twin_urb *r = l->data;

		if (r->data->client_addr != addr)
			continue;
		twin_urb_u(r)->status = -ENOENT;
		twin_urb_u(r)->actual_length = (int)r->done;	/* what moved */
		r->end = d->t->board.now_ns;
		g_queue_delete_link(&d->pending, l);
		g_queue_push_tail(&d->done, r);
		umockdev_ioctl_client_complete(c, 0, 0);
		return;
	}
	umockdev_ioctl_client_complete(c, -1, EINVAL);	/* already done */
}

/* Resolve an int-sized argument; NULL after answering EFAULT. */
static int *twin_usb_int_arg(UMockdevIoctlClient *c, UMockdevIoctlData *arg,
			     UMockdevIoctlData **hold, size_t size)
{
	*hold = umockdev_ioctl_data_resolve(arg, 0, size, NULL);
	if (!*hold)
		umockdev_ioctl_client_complete(c, -1, EFAULT);
	return *hold ? (int *)(*hold)->data : NULL;
}

static void twin_usb_ioctl(struct twin_usb_dev *d, UMockdevIoctlClient *c)
{
	gulong req = umockdev_ioctl_client_get_request(c);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
	UMockdevIoctlData *h = NULL;
	int *v;

	if (d->gone && !(req == USBDEVFS_REAPURB || req == USBDEVFS_REAPURBNDELAY)) {
		umockdev_ioctl_client_complete(c, -1, ENODEV);
		return;
	}
	switch (req) {
	case USBDEVFS_GET_CAPABILITIES:
		if ((v = twin_usb_int_arg(c, arg, &h, sizeof(uint32_t)))) {
			*(uint32_t *)v = TWIN_USB_CAPS;
			umockdev_ioctl_client_complete(c, 0, 0);
		}
		break;
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_RELEASEINTERFACE:
		if (!(v = twin_usb_int_arg(c, arg, &h, sizeof(int))))
			break;
		if (*v)
			umockdev_ioctl_client_complete(c, -1, ENOENT);	/* no such interface */
		else if (d->driver && req == USBDEVFS_CLAIMINTERFACE)
			umockdev_ioctl_client_complete(c, -1, EBUSY);	/* a kernel driver has it */
		else
			umockdev_ioctl_client_complete(c, 0, 0);
		break;
	case USBDEVFS_SETINTERFACE:
		if ((v = twin_usb_int_arg(c, arg, &h, sizeof(struct usbdevfs_setinterface))))
			umockdev_ioctl_client_complete(c, v[0] || v[1] ? -1 : 0,
						       v[0] || v[1] ? EINVAL : 0);
		break;
	case USBDEVFS_SETCONFIGURATION:
		if ((v = twin_usb_int_arg(c, arg, &h, sizeof(int))))
			umockdev_ioctl_client_complete(c, *v > 1 ? -1 : 0,
						       *v > 1 ? EINVAL : 0);
		break;
	case USBDEVFS_CLEAR_HALT:
		if ((v = twin_usb_int_arg(c, arg, &h, sizeof(unsigned)))) {
			*twin_usb_halt_flag(d, (uint8_t)*v) = false;
			umockdev_ioctl_client_complete(c, 0, 0);
		}
		break;
	case USBDEVFS_RESETEP:
		umockdev_ioctl_client_complete(c, 0, 0);
		break;
	case USBDEVFS_RESET:
		memset(d->halted, 0, sizeof(d->halted));
		if (d->ops->reset)
			d->ops->reset(d);
		umockdev_ioctl_client_complete(c, 0, 0);
		break;
	case USBDEVFS_GETDRIVER:
		twin_usbdrv_getdriver(d, c, arg);
		break;
	case USBDEVFS_IOCTL:
		twin_usbdrv_ioctl(d, c, arg);
		break;
	case USBDEVFS_CONNECTINFO:
		if ((v = twin_usb_int_arg(c, arg, &h, sizeof(struct usbdevfs_connectinfo)))) {
			((struct usbdevfs_connectinfo *)v)->devnum = d->devnum;
			((struct usbdevfs_connectinfo *)v)->slow = 0;
			umockdev_ioctl_client_complete(c, 0, 0);
		}
		break;
	case USBDEVFS_GET_SPEED:
		umockdev_ioctl_client_complete(c, 3, 0);	/* USB_SPEED_HIGH */
		break;
	case USBDEVFS_SUBMITURB:
		twin_usb_submit(d, c, arg);
		break;
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY:
		twin_usb_reap(d, c, arg, req == USBDEVFS_REAPURBNDELAY);
		break;
	case USBDEVFS_DISCARDURB:
		twin_usb_discard(d, c, arg);
		break;
	default:
		fprintf(stderr, "tp-twin: usbdevfs ioctl 0x%lx on %s is not modelled (ENOTTY)\n",
			req, d->devnode);
		umockdev_ioctl_client_complete(c, -1, ENOTTY);
	}
	g_clear_object(&h);
}

static gboolean twin_usb_call_run(gpointer data)
{
	struct twin_usb_call *call = data;

	twin_msd_tick(call->d->t);	/* disk writes since the last request */
	twin_usb_peer_seen(call->d->t);
	twin_usb_ioctl(call->d, call->client);
	g_object_unref(call->client);
	g_free(call);
	return G_SOURCE_REMOVE;
}

/* The device is gone: URBs in flight end with ESHUTDOWN, reapable. */
void twin_usbfs_shutdown(struct twin_usb_dev *d)
{
	struct twin_urb *r;

	while ((r = g_queue_pop_head(&d->pending))) {
		twin_urb_u(r)->status = -ESHUTDOWN;
		twin_urb_u(r)->actual_length = (int)r->done;
		r->end = d->t->board.now_ns;
		g_queue_push_tail(&d->done, r);
	}
}

void twin_usbfs_free(struct twin_usb_dev *d)
{
	struct twin_urb *r;

	while ((r = g_queue_pop_head(&d->pending)))
		twin_urb_free(r);
	while ((r = g_queue_pop_head(&d->done)))
		twin_urb_free(r);
}
