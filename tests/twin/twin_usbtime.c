// SPDX-License-Identifier: MIT
/*
 * The USB 2.0 high-speed timing model (docs/twin.md, "USB timing model").
 *
 * Deterministic and in integer nanoseconds. The bus is a sequence of
 * packet slots, 13 per 125 us microframe (protocols.md §9.1: 13 x 512 B
 * bulk packets per microframe is the high-speed ceiling, 53,248,000 B/s);
 * slot s starts at (s / 13) * 125000 + (s % 13) * 125000 / 13 ns. All
 * devices share one bus, as all four nodes share the hub's upstream link
 * (hardware.md §6.1). A transfer occupies ceil(bytes / 512) slots (one for
 * an empty packet); a control transfer one slot for the setup stage,
 * ceil(data / 64) for the data stage and one for the status stage.
 *
 * When the host has nothing queued for a device (a URB is submitted while
 * none of that device's is pending) the bus was idle for it: the transfer
 * starts at the first microframe boundary after a host turnaround
 * (--usb-turnaround-us). Otherwise it follows the device's previous one
 * at once. The device adds its own limits per transfer (x->not_before:
 * the command latency before a CSW; x->min_end: the eMMC write rate for
 * WRITE_LBA data). Protocol-specific rules live with the device.
 *
 * Slots a transfer had to wait past (a CSW's latency, a turnaround) are
 * not lost to the bus: a host controller that finds one endpoint NAKing
 * moves on to the next it serves (EHCI's asynchronous schedule visits its
 * queue heads in turn), so another device's packets fill them. The model
 * keeps those gaps and gives them out first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "twin_usb.h"

void twin_usbtime_init(struct twin *t)
{
	struct twin_usbtime *m = &t->usb->time;

	m->turnaround_ns = (uint64_t)t->opt.usb_turnaround_us * 1000;
	m->cmd_latency_ns = (uint64_t)t->opt.rk_cmd_latency_us * 1000;
	m->emmc_rate = (uint64_t)t->opt.emmc_write_rate * 1000000;
	m->next_slot = 0;
	m->ngaps = 0;
}

static uint64_t twin_usbtime_slot_ns(uint64_t s)
{
	return s / TWIN_USB_PKTS_PER_UF * TWIN_USB_UF_NS +
	       s % TWIN_USB_PKTS_PER_UF * TWIN_USB_UF_NS / TWIN_USB_PKTS_PER_UF;
}

/* The first slot that starts at or after NS. */
static uint64_t twin_usbtime_slot_at(uint64_t ns)
{
	uint64_t s = ns / TWIN_USB_UF_NS * TWIN_USB_PKTS_PER_UF +
		     ns % TWIN_USB_UF_NS * TWIN_USB_PKTS_PER_UF / TWIN_USB_UF_NS;

	while (twin_usbtime_slot_ns(s) < ns)
		s++;
	while (s && twin_usbtime_slot_ns(s - 1) >= ns)
		s--;
	return s;
}

/* Where a transfer submitted to an idle device can start. */
uint64_t twin_usbtime_idle_start(struct twin *t, uint64_t submit_ns)
{
	uint64_t at = submit_ns + t->usb->time.turnaround_ns;

	return (at + TWIN_USB_UF_NS - 1) / TWIN_USB_UF_NS * TWIN_USB_UF_NS;
}

static uint64_t twin_usbtime_packets(const struct twin_xfer *x)
{
	size_t bytes = x->control && !(x->ep & 0x80) ? x->len : x->actual;

	if (x->status == -EPIPE)
		return 1;	/* the handshake that says STALL */
	if (x->control)
		return 2 + (bytes + TWIN_USB_EP0_PACKET - 1) / TWIN_USB_EP0_PACKET;
	if (!bytes)
		return 1;
	return (bytes + TWIN_USB_BULK_PACKET - 1) / TWIN_USB_BULK_PACKET;
}

/* Forget the gaps that end at or before slot S: nothing can go there now. */
static void twin_usbtime_prune(struct twin_usbtime *m, uint64_t s)
{
	unsigned k = 0;

	while (k < m->ngaps && m->gaps[k].to <= s)
		k++;
	m->ngaps -= k;
	memmove(m->gaps, m->gaps + k, m->ngaps * sizeof(m->gaps[0]));
}

/* Slots [FROM, TO) were passed over: free for a later transfer. Gaps come
 * in order, as next_slot only grows; with the array full the oldest goes. */
static void twin_usbtime_gap_add(struct twin_usbtime *m, uint64_t from, uint64_t to)
{
	if (from >= to)
		return;
	if (m->ngaps == TWIN_USB_GAPS) {
		m->ngaps--;
		memmove(m->gaps, m->gaps + 1, m->ngaps * sizeof(m->gaps[0]));
	}
	m->gaps[m->ngaps++] = (struct twin_usbgap){ from, to };
}

/*
 * Give N packet slots at or after slot E: first the free slots of the gaps
 * other transfers left (in order, a transfer's packets may be spread over
 * several, as a host controller interleaves the endpoints it serves), then
 * at the end of the slots given out. Returns the first slot used and, in
 * *last, the one after the last.
 */
static uint64_t twin_usbtime_take(struct twin_usbtime *m, uint64_t e, uint64_t n,
				  uint64_t *last)
{
	uint64_t first = UINT64_MAX, s0;

	for (unsigned k = 0; k < m->ngaps && n; k++) {
		struct twin_usbgap g = m->gaps[k];
		uint64_t from = g.from > e ? g.from : e, take;

		if (from >= g.to)
			continue;
		take = g.to - from < n ? g.to - from : n;
		if (first == UINT64_MAX)
			first = from;
		*last = from + take;
		n -= take;
		/* what is left of the gap: before FROM, after the packets */
		if (from > g.from && from + take < g.to) {
			if (m->ngaps == TWIN_USB_GAPS) {
				m->gaps[k].to = from; /* no room to split: the tail is lost */
				continue;
			}
			memmove(m->gaps + k + 1, m->gaps + k, (m->ngaps - k) * sizeof(g));
			m->ngaps++;
			m->gaps[k].to = from;
			m->gaps[++k].from = from + take;
		} else if (from > g.from) {
			m->gaps[k].to = from;
		} else if (from + take < g.to) {
			m->gaps[k].from = from + take;
		} else {
			m->ngaps--;
			memmove(m->gaps + k, m->gaps + k + 1, (m->ngaps - k) * sizeof(g));
			k--;
		}
	}
	if (!n)
		return first;
	s0 = e > m->next_slot ? e : m->next_slot;
	twin_usbtime_gap_add(m, m->next_slot, s0);
	m->next_slot = s0 + n;
	*last = m->next_slot;
	return first == UINT64_MAX ? s0 : first;
}

/*
 * Place X on the bus no earlier than EARLIEST (the submission, or the idle
 * start), the device's previous transfer and the device's own limit. The
 * bus keeps only the packets' slots: time a device spends NAKing (the eMMC
 * behind a WRITE_LBA, the command before its CSW) and an idle device's
 * turnaround are free for other devices, which fill them (twin_usbtime_take).
 * A device's own transfers stay in order: its next one starts after this one.
 */
void twin_usbtime_schedule(struct twin *t, struct twin_usb_dev *d,
			   const struct twin_xfer *x, uint64_t earliest,
			   uint64_t *start, uint64_t *end)
{
	struct twin_usbtime *m = &t->usb->time;
	uint64_t s0, s1 = 0, n = twin_usbtime_packets(x);

	if (earliest < d->last_end)
		earliest = d->last_end;
	if (earliest < x->not_before)
		earliest = x->not_before;
	/* No transfer starts before the clock: the gaps behind it are gone. */
	twin_usbtime_prune(m, twin_usbtime_slot_at(t->board.now_ns));
	s0 = twin_usbtime_take(m, twin_usbtime_slot_at(earliest), n, &s1);
	*start = twin_usbtime_slot_ns(s0);
	*end = twin_usbtime_slot_ns(s1);
	if (*end < x->min_end)
		*end = x->min_end;
	d->last_end = *end;
}

/*
 * PACKETS bulk packets of traffic the model does not see one URB at a time
 * (a CM4 disk's, twin_msd.c), no earlier than FROM and after every slot
 * already given out: the shared bus is theirs for that long. Returns when
 * the last of them ends.
 */
uint64_t twin_usbtime_reserve(struct twin *t, uint64_t from, uint64_t packets)
{
	struct twin_usbtime *m = &t->usb->time;
	uint64_t s0 = twin_usbtime_slot_at(from);

	if (s0 < m->next_slot)
		s0 = m->next_slot;
	twin_usbtime_gap_add(m, m->next_slot, s0);
	m->next_slot = s0 + packets;
	return twin_usbtime_slot_ns(m->next_slot);
}

/* Session figures: the time the host had a bulk transfer outstanding on
 * the device (overlaps counted once) and the payload bytes moved. A bulk
 * URB on endpoint EP moved BYTES from SUBMIT to END. */
void twin_usbtime_account(struct twin_usb_dev *d, uint8_t ep, size_t bytes,
			  uint64_t submit, uint64_t end)
{
	uint64_t from = submit > d->bulk_busy_until ? submit : d->bulk_busy_until;

	if (end > from)
		d->bulk_ns += end - from;
	if (end > d->bulk_busy_until)
		d->bulk_busy_until = end;
	if (ep & 0x80)
		d->bytes_in += bytes;
	else
		d->bytes_out += bytes;
	d->urbs++;
}

void twin_usbtime_report(struct twin *t, struct twin_usb_dev *d, char *note,
			 size_t len)
{
	(void)t;
	snprintf(note, len,
		 "bulk %" PRIu64 ".%06" PRIu64 " s, %" PRIu64 " B out, %" PRIu64
		 " B in, %u URBs",
		 d->bulk_ns / 1000000000, d->bulk_ns % 1000000000 / 1000,
		 d->bytes_out, d->bytes_in, d->urbs);
}
