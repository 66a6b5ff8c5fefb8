// SPDX-License-Identifier: MIT
/*
 * tpkit usb msd --slot N: the node's eMMC as a USB disk of a computer on
 * the BMC_USB_OTG port. While tpkit serve runs, the export is its
 * (node_to_msd, serve.md §5), sent as tpi sends it; else it is done here
 * the same way: the node through flash mode up to its eMMC as the BMC
 * kernel's own disk, handed over powered, and the disk LUN 0 of the BMC's
 * USB gadget (board/turingpi2/gadget.h). The next USB mode change ends it.
 */
#include "usb_msd.h"
#include "cli.h"
#include "flash.h"
#include "board/turingpi2/gadget.h"
#include "common/cancel.h"
#include "common/err.h"
#include "common/json.h"
#include "common/slots.h"
#ifdef CONFIG_TPKIT_REMOTE
#include "remote/remote.h"
#endif

#include <inttypes.h>
#include <stdio.h>

static void on_step(void *cookie, unsigned slot, enum tp_flash_phase what)
{
	const struct tp_cli *c = cookie;
	const char *text = tp_flash_phase_text(what);

	if (c->json) {
		struct tp_json j;

		tp_json_event(&j, stdout, "step");
		tp_json_int(&j, "slot", slot);
		tp_json_str(&j, "step", tp_flash_phase_name(what));
		tp_json_obj_end(&j);
		fflush(stdout);
	} else if (c->verbosity >= 0 && text && what != TP_FLASH_PHASE_DONE) {
		/* Done's words are a flash's end (the node off): not this one's. */
		fprintf(stderr, "slot %u: %s\n", slot, text);
	}
}

/* The result: res NULL when tpkit serve did it. */
static int done(const struct tp_cli *c, const struct tp_board *b, unsigned slot,
		const struct tp_flash_result *res)
{
	if (c->json) {
		struct tp_json j;

		tp_cli_json_result(c, &j, b, true);
		tp_json_int(&j, "slot", slot);
		tp_json_str(&j, "mode", "msd");
		tp_json_bool(&j, "served", !res);
		if (res) {
			tp_json_str(&j, "module", res->module);
			tp_json_str(&j, "disk", res->disk);
			tp_json_uint(&j, "capacity", res->capacity);
		}
		tp_json_obj_end(&j);
	} else if (c->verbosity >= 0 && !res) {
		printf("slot %u: eMMC on the BMC's USB port, exported by tpkit serve\n", slot);
	} else if (c->verbosity >= 0) {
		printf("slot %u: eMMC (%s, %s, %" PRIu64 " bytes) on the BMC's USB port, LUN 0 of "
		       "its gadget\n", slot, res->module, res->disk, res->capacity);
	}
	return TP_EXIT_OK;
}

/* Through a running tpkit serve: 1 done, 0 none runs, -errno. */
static int served(unsigned slot)
{
#ifdef CONFIG_TPKIT_REMOTE
	char q[64];
	const char *qs[] = { q };

	snprintf(q, sizeof(q), "opt=set&type=node_to_msd&node=%u", slot - 1);
	return tp_remote_served_set(qs, 1);
#else
	(void)slot;
	return 0;
#endif
}

int tp_usb_msd_run(struct tp_cli *c, struct tp_board *b, unsigned slot,
		   const struct tp_flash_opts *mopts)
{
	struct tp_flash_opts o = { .enum_timeout_ms = CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS };
	struct tp_flash_result res = { .rc = 0 };
	int rc;

	tp_image_opts_init(&o.io);
	tp_flash_mopts_copy(&o, mopts);
	/* The server's export takes its own --flash-opt: with ours, it is
	 * done here (the claims keep the two apart). */
	if (!o.nmopt && (rc = served(slot)) != 0)
		return rc < 0 ? tp_cli_fail(c, rc) : done(c, b, slot, NULL);
	o.step = on_step;
	o.step_cookie = c;
	if ((rc = tp_cancel_install()) < 0)
		return tp_cli_fail(c, rc);
	/* One LUN: whatever it served goes first. */
	if ((rc = tp_gadget_msd_withdraw()) < 0)
		return tp_cli_fail(c, rc);
	if ((rc = tp_flash_msd(b, slot, &o, &res)) < 0)
		return tp_cli_fail(c, res.rc < 0 ? rc : tp_err_prefix(rc, "slot %u: ", slot));
	return done(c, b, slot, &res);
}
