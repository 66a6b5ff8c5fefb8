// SPDX-License-Identifier: MIT
/*
 * tpkit flash --slot LIST --image SRC [--seed]  (board control)
 * tpkit flash --board none --usb PATH|auto --image SRC
 * tpkit seed --slot LIST                         (the image already there)
 */
#include "cli.h"
#include "cli_image.h"
#include "flash.h"
#include "progress.h"
#include "common/cancel.h"
#include "common/checksum.h"
#include "common/slots.h"
#include "common/source.h"
#ifdef CONFIG_TPKIT_REMOTE
#include "remote/remote.h"
#endif
#ifdef CONFIG_TPKIT_SEED
#include "seed/seed.h"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(void)
{
	printf("Usage: tpkit flash --slot LIST --image SRC [OPTIONS]\n"
	       "       tpkit flash --board none --usb BUS-PORT|auto --image SRC [OPTIONS]\n\n"
	       "Write an OS image onto the eMMC of the modules in the given slots, RK1 or\n"
	       "CM4, told apart by what enumerates on USB. Each node is powered off, its\n"
	       "USB routed to the BMC with its boot strap asserted and powered on; its boot\n"
	       "ROM is found on USB and brought up (an RK1 through the loader, a CM4 through\n"
	       "rpiboot as a USB disk), and the image is streamed to it: decompressed on\n"
	       "the fly, its SHA-256 checked, the first MiB written last, everything read\n"
	       "back. On a v2.5 board all slots are flashed at once, slots that get the\n"
	       "same image sharing one download and decode; on v2.4 one after another.\n"
	       "Afterwards — and after any failure — every strap is released, every node\n"
	       "is off and the USB routing is as it was. An empty or failed slot does not\n"
	       "stop the others.\n\n"
	       "  --slot LIST        slots to flash: 2, 1-4, 1,3\n"
	       "  --image SRC        a file, an http(s):// URL or - (stdin), its format told\n"
	       "                     by its content (below); or a catalogue name (tpkit\n"
	       "                     images list), or auto for the catalogue's default\n"
	       "                     image for the module\n");
	tp_cli_image_help();
	printf("  --force            write an image whose layout says it is for the other\n"
	       "                     module (an RK1 image to a CM4, or the reverse)\n"
	       "  --module NAME      the slots hold this module (rk1 or cm4): its files are\n"
	       "                     checked before any node is touched, and a slot holding\n"
	       "                     another is left alone (default: told by what enumerates;\n"
	       "                     a module's files are then needed once it shows up)\n");
	for (size_t i = 0; i < TP_FLASH_MODULES; i++) {
		char lines[1024];

		tp_flash_modules[i]->help(lines, sizeof(lines));
		fputs(lines, stdout);
	}
#ifdef CONFIG_TPKIT_SEED
	printf("  --seed             write the slot's first-boot files (hostname, admin user\n"
	       "                     and keys, host keys, k3s and node config; tpkit config)\n"
	       "                     into the image before its boot area goes out\n"
	       "  --node-helper FILE with --seed: the node helper to install, an ELF program\n"
	       "                     for the nodes (default\n"
	       "                     " TP_SEED_HELPER_DEFAULT ")\n"
	       "  --wipe-nvme        with --seed: an RK1's old NVMe system that boots instead\n"
	       "                     wipes its NVMe (docs/runbooks/old-nvme-boots.md)\n");
#endif
	printf("  --timeout SEC      how long to wait for the module on USB (default %d)\n"
	       "  --board none       no board control: flash the module at --usb, already in\n"
	       "                     maskrom, loader or boot ROM mode (an RK1 or a CM4 on\n"
	       "                     any Linux machine)\n"
	       "  --usb PATH|auto    with --board none: USB bus-port path (1-1.2) or the\n"
	       "                     first RK3588 or CM4 boot ROM found\n" TP_CLI_COMMON_HELP
	       "\nProgress: a bar per slot on a terminal; otherwise (a log, ssh without -t)\n"
	       "a line per slot every TPKIT_PROGRESS_EVERY seconds (default 5).\n"
	       "Exit codes: 0 every slot flashed (an empty slot among several is reported,\n"
	       "not a failure), 1 a slot failed (the summary says which and why), 2 usage,\n"
	       "3 unknown board, 4 a GPIO line is held elsewhere;\n"
	       "cancelled (the slots put back): 130 SIGINT, 143 SIGTERM, 129 SIGHUP, 141\n"
	       "the output closed. 1 whenever a boot area could not be blanked again.\n",
	       CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS / 1000);
}

#ifdef CONFIG_TPKIT_SEED
static void help_seed(void)
{
	printf("Usage: tpkit seed --slot LIST [OPTIONS]\n\n"
	       "Write each slot's first-boot files into the image already on its eMMC, as\n"
	       "tpkit flash --seed does after writing one: a cloud-init seed with a fresh\n"
	       "instance-id (so the node runs its first boot again), the hostname, the admin\n"
	       "user and keys, the slot's stable host keys, the k3s and node configuration\n"
	       "(tpkit config). The node is put into flash mode as for a flash; its boot\n"
	       "block is blanked before the first file is written and put back once every\n"
	       "file is written and read back, so an interrupted seeding leaves a node that\n"
	       "does not boot, never one that boots half-seeded. Afterwards the node is off,\n"
	       "its strap released and the USB routing as it was.\n\n"
	       "  --slot LIST        slots to seed: 2, 1-4, 1,3\n"
	       "  --module NAME      the slots hold this module (%s)\n"
	       "  --node-helper FILE the node helper to install, an ELF program for the\n"
	       "                     nodes (default\n"
	       "                     " TP_SEED_HELPER_DEFAULT ")\n"
	       "  --timeout SEC      how long to wait for the module on USB (default %d)\n"
	       TP_CLI_COMMON_HELP
	       "\nThe modules' own options (tpkit flash --help) apply as for a flash.\n"
	       "Exit codes: 0 every slot seeded, 1 a slot failed (the summary says which and\n"
	       "why; flash it again if its boot block was left blank), 2 usage, 3 unknown\n"
	       "board, 4 a GPIO line is held elsewhere; 130/143 cancelled.\n",
	       tp_flash_module_names(), CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS / 1000);
}
#endif

struct ui {
	struct tp_cli *c;
	struct tp_progress_ui prog;
};

/* The phase table (flash_phases.def): what each means to the user, and
 * whose failure it is. */
enum cause { SLOT, BOARD };

static const struct {
	const char *text;
	enum cause cause;
} phases[] = {
#define PHASE(id, name, text, cause) [TP_FLASH_PHASE_##id] = { text, cause },
#include "flash_phases.def"
#undef PHASE
};

/* What a step means to the user, NULL if it is not shown. With --board
 * none (slot 0) no node is powered, strapped or rerouted, so those steps
 * read differently. */
static const char *step_text(unsigned slot, enum tp_flash_phase what)
{
	if (!slot && what == TP_FLASH_PHASE_DONE)
		return "done; the module is left powered, as it was found";
	return phases[what].text;
}

static void on_step(void *cookie, unsigned slot, enum tp_flash_phase what)
{
	struct ui *u = cookie;

	if (u->c->json) {
		struct tp_json j;

		if (!tp_cancel_out_ok(stdout))
			return; /* nobody reads it: the job is being cancelled */
		tp_json_event(&j, stdout, "step");
		tp_json_int(&j, "slot", slot);
		tp_json_str(&j, "step", tp_flash_phase_name(what));
		tp_json_obj_end(&j);
		fflush(stdout);
		tp_cancel_out_ok(stdout);
	} else if (u->c->verbosity >= 0 && step_text(slot, what)) {
		/* Below the bars; they are drawn again under it. */
		tp_progress_ui_break(&u->prog);
		if (slot)
			fprintf(stderr, "slot %u: %s\n", slot, step_text(slot, what));
		else
			fprintf(stderr, "usb: %s\n", step_text(slot, what));
	}
}

/* ok, FAILED or cancelled: a slot stopped by a signal (or a closed
 * output) was not failed by anything on the board. */
static const char *result_word(const struct tp_flash_result *r, bool json)
{
	if (!r->rc)
		return "ok";
	if (r->cancelled && !r->head_blank_failed)
		return "cancelled";
	if (r->empty)
		return "empty";
	return json ? "failed" : "FAILED";
}

static void summary(struct tp_cli *c, const struct tp_flash_opts *o,
		    const struct tp_flash_result *res, size_t n, int code)
{
	if (c->json && !tp_cancel_out_closed()) {
		struct tp_json j;

		tp_cli_json_result(c, &j, NULL, code == 0);
		if (code)
			tp_json_int(&j, "exit", code);
		tp_json_arr_begin(&j, "slots");
		for (size_t i = 0; i < n; i++) {
			const struct tp_flash_result *r = &res[i];

			tp_json_obj_begin(&j, NULL);
			tp_json_int(&j, "slot", r->slot);
			tp_json_bool(&j, "ok", r->rc == 0);
			tp_json_str(&j, "result", result_word(r, true));
			tp_json_str(&j, "phase", tp_flash_phase_name(r->phase));
			tp_json_str(&j, "module", r->module);
			tp_json_str(&j, "image", r->image);
			tp_json_bool(&j, "shared", r->shared);
			tp_json_str(&j, "usb_path", r->usb_path);
			tp_json_uint(&j, "bytes", r->bytes);
			tp_json_uint_opt(&j, "capacity", r->capacity, r->capacity != 0);
			tp_json_int(&j, "ms", (int64_t)(r->ns / 1000000u));
			tp_json_bool(&j, "verified", r->verified);
			tp_json_bool(&j, "sha256_checked", r->sum_checked);
			tp_json_str(&j, "sha256", r->sha256);
			tp_json_bool(&j, "restored", r->restored);
			tp_json_bool(&j, "boot_area_unsafe", r->head_blank_failed);
			if (o->seed || o->seed_only) {
				tp_json_bool(&j, "seeded", r->seeded);
				tp_json_str(&j, "root_uuid", r->root_uuid);
				tp_json_str(&j, "instance_id", r->instance_id);
			}
			if (r->rc < 0)
				tp_json_str(&j, "error", r->msg);
			tp_json_obj_end(&j);
		}
		tp_json_arr_end(&j);
		tp_json_obj_end(&j);
		fflush(stdout);
		if (tp_cancel_out_ok(stdout))
			return;
	}
	/* --json whose reader went away: the errors still go to stderr. */
	if (c->verbosity < 0 || c->json)
		goto errors;
	int iw = 5;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(res[i].image) > iw)
			iw = (int)strlen(res[i].image);
	printf("\nSLOT  MODULE  %-*s  RESULT    WRITTEN     TIME     RATE*       CHECKS\n", iw,
	       "IMAGE");
	for (size_t i = 0; i < n; i++) {
		const struct tp_flash_result *r = &res[i];
		char b[32], t[32], rate[32] = "-", slot[8];
		uint64_t s = r->ns / 1000000000u;

		snprintf(slot, sizeof(slot), r->slot ? "%u" : "usb", r->slot);
		if (r->write_ns)
			snprintf(rate, sizeof(rate), "%.1f MB/s",
				 (double)r->bytes * 1e3 / (double)r->write_ns);
		printf("%-5s %-7s %-*s  %-9s %-11s %-8s %-11s %s%s%s%s\n", slot,
		       r->module[0] ? r->module : "-", iw, r->image[0] ? r->image : "-",
		       result_word(r, false), tp_fmt_bytes(r->bytes, b, sizeof(b)),
		       tp_fmt_duration(s, t, sizeof(t)), rate, r->sum_checked ? "sha256 " : "",
		       r->verified ? "read-back" : r->head_blank_failed ? "BOOT AREA NOT BLANK" :
		       r->rc ? "" : "not verified",
		       r->seeded ? (r->verified ? ", seeded" : "seeded") : "",
		       r->shared ? " (shared stream)" : "");
	}
	printf("* over writing and reading back\n");
errors:
	for (size_t i = 0; i < n; i++) {
		const struct tp_flash_result *r = &res[i];

		if (r->rc < 0)
			fprintf(stderr, "tpkit flash: %s: %s%s\n",
				r->cancelled && !r->head_blank_failed ? "cancelled" :
				r->empty ? "empty, no module answered" : "error", r->msg,
				r->restored ? "" : " (the node may NOT be in a safe state)");
		if (r->head_blank_failed)
			fprintf(stderr, "tpkit flash: error: slot %u: the eMMC's boot area could not "
				"be blanked again: it may hold part of the new image and boot it. Do "
				"not power the node on: flash slot %u again (tpkit flash --slot %u "
				"--image ...), or blank the first MiB of its eMMC\n",
				r->slot, r->slot, r->slot);
	}
}

/*
 * A slot's exit code. The board's own failures while entering or leaving
 * flash mode (a line held by bmcd: 4) keep theirs; anything on the
 * module's side is a failed slot (1), even an errno that means something
 * else to the board code: ENODEV from a module that dropped off the USB
 * mid-write is not an unknown board (3).
 */
static int slot_exit_code(const struct tp_flash_result *r)
{
	if (phases[r->phase].cause == BOARD)
		return tp_cli_exit_code(r->rc);
	return TP_EXIT_FAIL;
}

/* The modules' own options (--loader, --cm4-firmware, ...), taken from
 * the module table: long-only, with codes from OPT_MODULE up. */
enum { OPT_WIPE = 0xfd, OPT_HELPER = 0xfe, OPT_SEED = 0xff, OPT_MODULE = 0x100 };

struct mopts {
	struct option longopts[32 + TP_FLASH_MOPTS_MAX];
	const struct tp_flash_module *m[TP_FLASH_MOPTS_MAX];
	const struct tp_flash_mopt *opt[TP_FLASH_MOPTS_MAX];
};

/* The command's options: every module's, its own, the common ones. */
static const struct option *flash_longopts(struct mopts *mo)
{
	static const struct option own[] = {
		{ "slot", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "board", required_argument, NULL, 'B' },
		{ "usb", required_argument, NULL, 'U' },
		{ "force", no_argument, NULL, 'F' },
		{ "module", required_argument, NULL, 'M' },
#ifdef CONFIG_TPKIT_SEED
		{ "seed", no_argument, NULL, OPT_SEED },
		{ "node-helper", required_argument, NULL, OPT_HELPER },
		{ "wipe-nvme", no_argument, NULL, OPT_WIPE },
#endif
		TP_CLI_IMAGE_LONGOPTS,
		TP_CLI_COMMON_LONGOPTS,
		{ 0 },
	};
	const size_t max = sizeof(mo->longopts) / sizeof(mo->longopts[0]);
	size_t n = 0, k = 0;

	for (size_t i = 0; i < TP_FLASH_MODULES; i++) {
		const struct tp_flash_module *m = tp_flash_modules[i];

		for (size_t j = 0; j < m->nopts && k < TP_FLASH_MOPTS_MAX; j++, k++) {
			mo->m[k] = m;
			mo->opt[k] = &m->opts[j];
			mo->longopts[n++] = (struct option){ m->opts[j].name, required_argument, NULL,
							     OPT_MODULE + (int)k };
		}
	}
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]) && n < max; i++)
		mo->longopts[n++] = own[i];
	return mo->longopts;
}

/* The run's exit code from its slots' results. */
static int exit_code(const struct tp_flash_result *res, size_t n)
{
	size_t flashed = 0;
	int first = 0;
	bool mixed = false;

	/* A boot area that may hold half an image outweighs everything: 1. A
	 * cancel exits as the signal would have (130 SIGINT, 143 SIGTERM, 141
	 * a closed output), once the slots are put back. */
	for (size_t i = 0; i < n; i++)
		if (res[i].head_blank_failed)
			return TP_EXIT_FAIL;
	for (size_t i = 0; i < n; i++)
		if (res[i].cancelled)
			return 128 + tp_cancel_signal();
	/* Empty slots fail a run only when they are all it had: `--slot 1-4`
	 * on a board with two modules flashes those two and succeeds. */
	for (size_t i = 0; i < n; i++)
		flashed += res[i].rc == 0;
	for (size_t i = 0; i < n; i++)
		if (res[i].rc < 0 && !(res[i].empty && flashed)) {
			if (first && slot_exit_code(&res[i]) != first)
				mixed = true;
			first = first ? first : slot_exit_code(&res[i]);
		}
	if (!first)
		return TP_EXIT_OK;
	/* One cause for every failure (a held line) keeps its own exit
	 * code; a mix is a plain failure. */
	return mixed ? TP_EXIT_FAIL : first;
}

#ifdef CONFIG_TPKIT_REMOTE
/* Can a running tpkit serve flash this for us (serve.md §6)? One slot of
 * the board, a file or URL image, its SHA-256 at most among the image
 * options; no seeding, no module option (the server has its own), no
 * --json (its lines would be another's). */
static bool api_fits(const struct tp_cli *c, const struct tp_flash_opts *o,
		     const struct tp_cli_image *ci, unsigned mask, const char *board)
{
	struct tp_image_opts def;

	tp_image_opts_init(&def);
	return !o->seed_only && !o->seed && !o->nmopt && !o->module && !o->force && !c->json &&
	       !strcmp(board, "turingpi2") && tp_slots_count(mask) == 1 &&
	       o->enum_timeout_ms == CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS &&
	       strcmp(o->image, "-") && !ci->catalogue && !ci->cache_dir &&
	       ci->io.require_sha256 == def.require_sha256 && ci->io.verify == def.verify &&
	       ci->io.force_raw == def.force_raw && ci->io.retries == def.retries &&
	       ci->io.xz_memlimit == def.xz_memlimit && ci->io.xz_threads == def.xz_threads &&
	       (access(o->image, F_OK) == 0 || tp_source_is_url(o->image));
}
#endif

static int run(struct tp_cli *c, int argc, char **argv, bool seed_only)
{
	static struct mopts mo;
	const struct option *longopts = flash_longopts(&mo);
	struct tp_flash_opts o = { .seed_only = seed_only,
				   .enum_timeout_ms = CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS };
	struct tp_cli_image ci;
	struct tp_flash_result res[TP_BOARD_SLOTS];
	const char *slots = NULL, *board = "turingpi2", *usb = NULL;
	struct tp_board *b = NULL;
	struct ui u = { .c = c };
	unsigned mask = 0;
	size_t n = 0;
	int opt, rc, code;

	tp_cli_image_init(&ci);
	while ((opt = tp_cli_getopt(argc, argv, "s:" TP_CLI_COMMON_SHORTOPTS, longopts)) != -1) {
		switch (opt) {
		case 'h':
#ifdef CONFIG_TPKIT_SEED
			if (seed_only) {
				help_seed();
				return TP_EXIT_OK;
			}
#endif
			help();
			return TP_EXIT_OK;
		case OPT_SEED: o.seed = true; break;
		case OPT_HELPER: o.node_helper = optarg; break;
		case OPT_WIPE: o.wipe_nvme = true; break;
		case 's': slots = optarg; break;
		case 'i': o.image = optarg; break;
		case 'B': board = optarg; break;
		case 'U': usb = optarg; break;
		case 'F': o.force = true; break;
		case 'M':
			o.module = tp_flash_module_find(optarg);
			if (!o.module)
				return tp_cli_usage(c, "--module is one of %s, not \"%s\"",
						    tp_flash_module_names(), optarg);
			break;
		case 'T': {
			unsigned long v;

			if (!tp_cli_uint(optarg, 1, 600, &v))
				return tp_cli_usage(c, "--timeout takes seconds, 1-600, not \"%s\"",
						    optarg);
			o.enum_timeout_ms = (unsigned)v * 1000u;
			break;
		}
		default:
			if (opt >= OPT_MODULE && opt < OPT_MODULE + TP_FLASH_MOPTS_MAX) {
				size_t k = (size_t)(opt - OPT_MODULE);

				if (tp_flash_opt_set(&o, mo.m[k], mo.opt[k], optarg) < 0)
					return tp_cli_usage(c, "%s", tp_err_msg());
				break;
			}
			if (tp_cli_image_opt(c, &ci, opt, optarg, &code)) {
				if (code)
					return code;
				break;
			}
			if (!tp_cli_common_opt(c, opt, optarg))
				return tp_cli_usage(c, "%s", tp_cli_optmsg());
		}
	}
	o.io = ci.io;
	o.catalogue = ci.catalogue;
	o.cache_dir = ci.cache_dir;
	if (optind != argc)
		return tp_cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (seed_only && (o.image || ci.given || o.force || o.seed || strcmp(board, "turingpi2")))
		return tp_cli_usage(c, "tpkit seed writes no image and needs the board: --image, "
				    "the image options (--sha256, --no-verify, ...), --force, --seed "
				    "and --board are for tpkit flash (tpkit flash --seed writes an "
				    "image and seeds it)");
	if (o.node_helper && !o.seed && !seed_only)
		return tp_cli_usage(c, "--node-helper goes with --seed");
	if (o.wipe_nvme && !o.seed)
		return tp_cli_usage(c, "--wipe-nvme goes with --seed");
	if (!o.image && !seed_only)
		return tp_cli_usage(c, "which image? --image FILE|URL|-");
	if (o.seed && !strcmp(board, "none"))
		return tp_cli_usage(c, "--seed needs the board: a slot's first-boot files come "
				    "from its configuration (tpkit config)");
	if (strcmp(board, "none") && strcmp(board, "turingpi2"))
		return tp_cli_usage(c, "--board is turingpi2 (default) or none, not \"%s\"", board);
	if (!strcmp(board, "none")) {
		if (slots)
			return tp_cli_usage(c, "--board none flashes the device at --usb, not slots");
		if (!usb)
			return tp_cli_usage(c, "--board none needs --usb BUS-PORT or --usb auto");
	} else {
		if (usb)
			return tp_cli_usage(c, "--usb goes with --board none; with a board, the slot "
					    "says where the module is");
		if (!slots)
			return tp_cli_usage(c, "which slots? --slot LIST (2, 1-4, 1,3)");
		if (tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0)
			return tp_cli_usage(c, "%s", tp_err_msg());
	}
	rc = tp_cli_ready(c);
	if (rc)
		return rc;
#ifdef CONFIG_TPKIT_REMOTE
	/* A running tpkit serve owns the board: what the API can carry goes
	 * through it; the rest runs here, the server holding no line while
	 * it flashes nothing (and a busy line stops this run, as ever). */
	if (api_fits(c, &o, &ci, mask, board)) {
		rc = tp_remote_flash_served(c, (unsigned)__builtin_ffs((int)mask), o.image,
					    o.io.sha256, &code);
		if (rc < 0)
			return tp_cli_fail(c, rc);
		if (rc > 0)
			return code;
	}
#endif
	tp_progress_ui_init(&u.prog, c->json ? TP_PROGRESS_JSON :
				     c->verbosity < 0 ? TP_PROGRESS_NONE : TP_PROGRESS_BAR);
	o.progress = tp_progress_ui_cb;
	o.progress_cookie = &u.prog;
	o.step = on_step;
	o.step_cookie = &u;
	rc = tp_cancel_install();
	if (rc < 0)
		return tp_cli_fail(c, rc);

	if (!strcmp(board, "none")) {
		tp_flash_usb(strcmp(usb, "auto") ? usb : NULL, &o, &res[n++]);
	} else {
		rc = tp_cli_board_open(c, &b);
		if (rc)
			return rc;
		rc = tp_cli_board_recover(c, b);
		if (rc) {
			tp_board_close(b);
			return rc;
		}
		n = tp_flash_slots(b, mask, &o, res);
		tp_board_close(b);
	}
	tp_progress_ui_end(&u.prog);
	rc = exit_code(res, n);
	summary(c, &o, res, n, rc);
	return rc;
}

int cmd_flash_main(struct tp_cli *c, int argc, char **argv)
{
	return run(c, argc, argv, false);
}

#ifdef CONFIG_TPKIT_SEED
int cmd_seed_main(struct tp_cli *c, int argc, char **argv)
{
	return run(c, argc, argv, true);
}
#endif
