// SPDX-License-Identifier: MIT
/*
 * node_to_msd (serve.md §5): a node's eMMC served to a computer on the
 * BMC_USB_OTG port as a USB disk, as bmcd's `tpi advanced msd`. The node
 * goes through flash mode as for a flash — the same claims, record and
 * recovery — up to its eMMC as the BMC kernel's own disk (a CM4's rpiboot
 * payload, an RK1's loader bound by rockusb.ko), is handed over powered
 * (tp_flashmode_handover()), and the disk becomes LUN 0 of the BMC's USB
 * gadget (board/turingpi2/gadget.h). Unlike bmcd, whose export failing is
 * only logged, a failure is the answer; and the export goes again when
 * the node's power or the USB mode changes under it, rather than leaving
 * a LUN on a disk that is gone.
 */
#include "serve.h"
#include "bmc/flash.h"
#include "board/turingpi2/gadget.h"
#include "common/err.h"
#include "common/log.h"
#include "common/slots.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void tp_api_msd_drop(struct tp_serve *s, unsigned slot)
{
	char disk[64];
	int rc;

	pthread_mutex_lock(&s->board_lock);
	/* A USB mode change drops whatever LUN there is, even one a server
	 * before this one made (bmcd's configure_usb does the same); a
	 * slot's power only the one it knows it made. */
	if (slot ? slot == s->msd_slot : tp_gadget_msd_query(disk, sizeof(disk)) != 0) {
		rc = tp_gadget_msd_withdraw();
		if (rc < 0)
			tp_log(TP_LOG_ERR, "BMC USB gadget: %s", tp_err_msg());
		else if (s->msd_slot)
			tp_log(TP_LOG_INFO, "slot %u: its eMMC is no longer on the BMC's USB gadget",
			       s->msd_slot);
		if (rc == 0)
			s->msd_slot = 0;
	}
	pthread_mutex_unlock(&s->board_lock);
}

/* tp_flash_msd() on a board handle of the job's own: 0 and res filled, or
 * -errno with a message. */
static int bring_up(struct tp_serve *s, unsigned slot, struct tp_flash_result *res)
{
	struct tp_flash_opts o = { .enum_timeout_ms = CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS };
	struct tp_board *b = NULL;
	int rc;

	tp_image_opts_init(&o.io);
	tp_flash_mopts_copy(&o, &s->o.flash);
	if ((rc = tp_board_open(&b, &s->o.board)) < 0)
		return rc;
	/* Its claims wait for a status read holding a line a moment on
	 * the server's own handle (board.h), as a flash job's. */
	b->claim_lock = &s->board_lock;
	rc = tp_flash_msd(b, slot, &o, res);
	tp_board_close(b);
	if (rc < 0 && res->rc < 0 && !res->restored)
		tp_log(TP_LOG_ERR, "slot %u: the export failed and the node could not be put back: "
		       "%s", slot, res->msg);
	else if (rc < 0 && res->rc == 0)
		tp_log(TP_LOG_ERR, "slot %u: %s", slot, tp_err_msg());
	return rc;
}

/* The bring-up and export run on a thread of their own, as a flash job does: a
 * worker thread of the HTTP server has a stack too small for a flash
 * run (seen under ASan), and the request waits for it anyway. */
struct bring {
	struct tp_serve *s;
	unsigned slot;
	struct tp_flash_result res;
	struct tp_err_ctx err;
};

static void *bring_main(void *arg)
{
	struct bring *j = arg;

	tp_err_save(&j->err, bring_up(j->s, j->slot, &j->res));
	return NULL;
}

int tp_api_node_to_msd(struct tp_req *r)
{
	struct tp_serve *s = r->srv;
	struct bring j = { .res.rc = 0 };
	pthread_t th;
	char what[48];
	unsigned slot;
	int rc;

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	snprintf(what, sizeof(what), "export node %u's eMMC", slot);
	/* The gadget has one LUN: whichever node had it loses it first. */
	tp_api_msd_drop(s, 0);
	j.s = s;
	j.slot = slot;
	if ((rc = pthread_create(&th, NULL, bring_main, &j)) != 0)
		return tp_env_fail(r, what, tp_err_set(-rc, "cannot start a thread: %s",
						       strerror(rc)));
	pthread_join(th, NULL);
	if ((rc = tp_err_restore(&j.err)) < 0)
		return tp_env_fail(r, what, rc);
	pthread_mutex_lock(&s->board_lock);
	s->msd_slot = slot;
	pthread_mutex_unlock(&s->board_lock);
	tp_log(TP_LOG_INFO, "slot %u: eMMC (%s, %s, %" PRIu64 " bytes) is the BMC's USB disk",
	       slot, j.res.module, j.res.disk, j.res.capacity);
	return tp_env_ok(r);
}
