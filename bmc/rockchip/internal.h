/* SPDX-License-Identifier: MIT */
/*
 * Shared between rockusb.c (finding, opening, maskrom download) and
 * rockusb_cmd.c (the pipelined command engine). Not a public header.
 */
#ifndef TP_ROCKCHIP_INTERNAL_H
#define TP_ROCKCHIP_INTERNAL_H

#include "bmc/usbpath.h"
#include "rockusb.h"
#include "common/err.h"

#include <libusb.h>
#include <stdbool.h>
#include <stdint.h>

/* A bulk IN packet at high speed: replies and CSWs are read into buffers of
 * this size, so a device that sends more than asked is reported, not an
 * overflow that loses the packet. */
#define RK_PACKET 512

/* One command's transfers: CBW out, optional data, CSW in (protocols.md §5). */
struct rk_slot {
	struct tp_rockusb *dev;
	struct libusb_transfer *x[3]; /* RK_X_CBW, RK_X_DATA, RK_X_CSW */
	struct tp_rk_cbw cbw;
	uint8_t cbw_buf[TP_RK_CBW_LEN];
	uint8_t csw_buf[RK_PACKET];
	uint8_t *data;       /* own buffer of dev->io_bytes, for queued writes */
	unsigned pending;    /* transfers submitted and not yet called back */
	bool busy;           /* submitted and not yet collected */
	bool has_data;
	int submit_err;      /* libusb error if a transfer could not be submitted */
	int submit_stage;    /* ...and which one */
	uint32_t want;       /* data bytes the command must move */
	unsigned timeout_ms; /* given to each of its transfers */
};

enum { RK_X_CBW, RK_X_DATA, RK_X_CSW };

struct tp_rockusb {
	libusb_context *ctx;
	libusb_device_handle *h;
	enum tp_rockusb_mode mode;
	char path[32]; /* "1-1.2" */
	uint8_t bus, addr;
	int ifnum;     /* claimed interface, -1 if none */
	bool detached; /* its kernel driver (rockusb.ko) was detached by us */
	uint8_t ep_in, ep_out;

	/* Command engine (rockusb_cmd.c): a ring of slots, head = oldest. */
	struct rk_slot *slots;
	unsigned nslots, head, inflight;
	size_t io_bytes;     /* data buffer per slot: one WRITE_LBA */
	uint32_t write_max;  /* sectors per WRITE_LBA */
	uint32_t tag_state;
	bool failed;         /* a transfer ended badly: cancel the rest */
	struct tp_err_ctx sticky; /* first failure; every later call returns it */
};

/* rockusb_cmd.c: set up and tear down the engine on a claimed loader. */
int rk_engine_init(struct tp_rockusb *d);
void rk_engine_free(struct tp_rockusb *d);

/* Errno and wording for a libusb error code or transfer status. */
int rk_xfer_errno(int status);
const char *rk_xfer_hint(int err);


#endif
