// SPDX-License-Identifier: MIT
/*
 * tpkit --host HOST flash --slot N --image FILE|URL: an image flashed by
 * another BMC, through the API's flash flow (docs/serve.md section 6;
 * docs/remote.md "Flashing"): the request with the image's length and
 * SHA-256, the upload streamed from the file, then the BMC's transfer
 * state polled to Done or Error. A URL is fetched by the BMC itself.
 */
#include "remote.h"
#include "bmc/progress.h"
#include "common/cache.h"
#include "common/cancel.h"
#include "common/checksum.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "common/slots.h"
#include "common/source.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* tpi's pace: a poll every 500 ms (docs/serve.md section 6). */
#define POLL_MS 500

struct job {
	struct tp_remote *r;
	struct tp_progress_ui ui;
	unsigned slot, handle;
	uint64_t size;
	uint64_t t0;        /* monotonic ns at the start of the phase */
	enum tp_phase phase;
	uint64_t last;      /* bytes_written last seen, to see the read-back start */
	uint64_t start_ns;  /* monotonic ns when the command began, for --json's ms */
};

static void help(void)
{
	printf("Usage: tpkit --host HOST flash --slot N --image FILE|URL [--sha256 HEX]\n"
	       "       tpkit --host HOST flash --slot N --bmc-file PATH\n\n"
	       "Flash an image onto a node through another BMC's API (tpkit serve or bmcd):\n"
	       "a FILE is uploaded as it is read, a URL is fetched by the BMC, a --bmc-file\n"
	       "is a path on the BMC (its SD card). The BMC writes, reads back and reports;\n"
	       "this waits for its verdict and shows the progress.\n\n"
	       "  --slot N           the node (1-4)\n"
	       "  --image FILE|URL   the image, as the BMC takes it (raw or .xz for bmcd)\n"
	       "  --bmc-file PATH    an image already on the BMC\n"
	       "  --sha256 HEX       the image's published SHA-256; without it, a checksum\n"
	       "                     published beside FILE (FILE.sha256, SHA256SUMS) is sent,\n"
	       "                     else the file's own hash, so the BMC checks the transfer\n"
	       TP_CLI_COMMON_HELP
	       "\nExit codes: 0 flashed, 1 failed (the BMC's reason is printed), 2 usage,\n"
	       "4 the BMC is busy with another flash, 130 interrupted (the flash is\n"
	       "cancelled on the BMC).\n");
}

static uint64_t elapsed_ns(const struct job *j)
{
	return tp_clock_now_ns() - j->t0;
}

static void show(struct job *j, uint64_t done, uint64_t total)
{
	struct tp_progress p = { .phase = j->phase, .done = done, .total = total,
				 .target = j->slot };
	uint64_t ns = elapsed_ns(j);

	p.rate = ns ? (uint64_t)((double)done * 1e9 / (double)ns) : 0;
	tp_progress_ui_cb(&j->ui, &p);
}

static int upload_progress(void *cookie, uint64_t sent)
{
	struct job *j = cookie;

	if (tp_cancelled())
		return 1;
	show(j, sent, j->size);
	return 0;
}

/* The transfer state (serve.md section 6): 1 while it runs, 0 done, or
 * -errno with the BMC's reason. */
static int state_read(struct job *j)
{
	json_object *st, *v, *t;
	const char *name = tp_remote_name(j->r);
	char q[64];
	int rc;

	/* tpkit serve runs several flashes: ours is named (remote.md
	 * section 4); bmcd has one, and is sent only what tpi sends. */
	if (tp_remote_is_tpkit(j->r))
		snprintf(q, sizeof(q), "opt=get&type=flash&handle=%u", j->handle);
	else
		snprintf(q, sizeof(q), "opt=get&type=flash");
	rc = tp_remote_get(j->r, q, &st);

	if (rc < 0)
		return rc;
	if (json_object_object_get_ex(st, "Transferring", &t)) {
		uint64_t id = json_object_object_get_ex(t, "id", &v) ? (uint64_t)json_object_get_int64(v) : 0;
		uint64_t done = json_object_object_get_ex(t, "bytes_written", &v)
					? (uint64_t)json_object_get_int64(v) : 0;

		/* Another client's flash replaced ours (bmcd lets a new
		 * request drop the running one). */
		if (id != j->handle)
			rc = tp_err_set(-EBUSY, "%s is now running another flash (handle %" PRIu64
					", ours %u): ours was replaced", name, id, j->handle);
		else {
			/* The count starts again from 0 for the read-back. */
			if (done < j->last && j->phase == TP_PHASE_WRITE) {
				j->phase = TP_PHASE_VERIFY;
				j->t0 = tp_clock_now_ns();
			}
			j->last = done;
			show(j, done, 0);
			rc = 1;
		}
	} else if (json_object_object_get_ex(st, "Done", &t)) {
		rc = 0;
	} else if (json_object_object_get_ex(st, "Error", &t)) {
		rc = tp_err_set(-EIO, "%s: the flash of slot %u failed: %s", name, j->slot,
				json_object_get_string(t));
	} else {
		rc = tp_err_set(-EPROTO, "%s reports the flash as %s: it is not running",
				name, json_object_to_json_string(st));
	}
	json_object_put(st);
	return rc;
}

/* Poll until the BMC's verdict; an interrupt cancels the flash there. */
static int follow(struct job *j)
{
	json_object *ans;
	char path[64];
	int rc;

	while ((rc = state_read(j)) == 1) {
		if (tp_cancelled())
			break;
		poll(NULL, 0, POLL_MS);
	}
	if (!tp_cancelled())
		return rc;
	snprintf(path, sizeof(path), "/upload/%u/cancel", j->handle);
	rc = tp_remote_get_path(j->r, path, &ans);
	json_object_put(ans);
	if (rc < 0)
		return rc;
	return tp_err_set(-ECANCELED, "cancelled: %s was asked to stop the flash of slot %u",
			  tp_remote_name(j->r), j->slot);
}

/* The SHA-256 the BMC is to check: the user's, the one published beside
 * the file, or the file's own. */
static int sha256_pick(struct job *j, const struct tp_cli *c, const char *image,
		       const char *given, char hex[65])
{
	char from[4096];
	uint64_t bytes;
	int rc;

	if (given)
		return tp_checksum_parse_hex(given, hex) < 0
			       ? tp_err_set(-EINVAL, "--sha256 takes 64 hex digits") : 0;
	rc = tp_checksum_discover(image, hex, from, sizeof(from));
	if (rc == 0) {
		if (c->verbosity > 0)
			fprintf(stderr, "tpkit flash: the SHA-256 published in %s\n", from);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	if (c->verbosity > 0)
		fprintf(stderr, "tpkit flash: no SHA-256 published beside %s: its own is sent, "
				"which proves the transfer only\n", image);
	return tp_cache_hash_file(image, tp_progress_ui_cb, &j->ui, hex, &bytes);
}

/* The flash request; the handle the BMC gives for it in j->handle. */
static int flash_request(struct job *j, const char *q)
{
	json_object *ans, *h;
	int rc = tp_remote_get(j->r, q, &ans);

	if (rc < 0)
		return rc;
	if (!json_object_object_get_ex(ans, "handle", &h) ||
	    !json_object_is_type(h, json_type_int)) {
		json_object_put(ans);
		return tp_err_set(-EPROTO, "%s answered the flash request without a handle",
				  tp_remote_name(j->r));
	}
	j->handle = (unsigned)json_object_get_int64(h);
	json_object_put(ans);
	j->t0 = tp_clock_now_ns();
	return 0;
}

static int flash_upload(struct job *j, const struct tp_cli *c, const char *image,
			const char *sha)
{
	char hex[65], name[600], q[1200];
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	struct stat st;
	int fd, rc;

	if ((fd = open(image, O_RDONLY | O_CLOEXEC)) < 0)
		return tp_err_set(-errno, "cannot open %s: %s", image, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return tp_err_set(-EINVAL, "%s is not a regular file: the API needs the image's "
				  "length before it is sent", image);
	}
	j->size = (uint64_t)st.st_size;
	if ((rc = sha256_pick(j, c, image, sha, hex)) < 0 ||
	    (rc = tp_remote_escape(base, name, sizeof(name))) < 0)
		goto out;
	snprintf(q, sizeof(q), "opt=set&type=flash&file=%s&length=%" PRIu64 "&node=%u&sha256=%s",
		 name, j->size, j->slot - 1, hex);
	if ((rc = flash_request(j, q)) < 0)
		goto out;
	rc = tp_remote_upload(j->r, j->handle, base, fd, j->size, upload_progress, j);
	if (rc == -ECANCELED || (rc < 0 && tp_cancelled()))
		rc = follow(j);
	else if (rc < 0) {
		/* The BMC's own reason is in its state when the job failed. */
		char keep[600];

		snprintf(keep, sizeof(keep), "%s", tp_err_msg());
		if (state_read(j) != -EIO)
			tp_err_set(rc, "%s", keep);
	} else {
		rc = follow(j);
	}
out:
	close(fd);
	return rc;
}

static int flash_remote_source(struct job *j, const char *file, bool local, const char *sha)
{
	char esc[2400], q[2600], hex[65];
	int rc;

	if (sha && tp_checksum_parse_hex(sha, hex) < 0)
		return tp_err_set(-EINVAL, "--sha256 takes 64 hex digits");
	if ((rc = tp_remote_escape(file, esc, sizeof(esc))) < 0)
		return rc;
	snprintf(q, sizeof(q), "opt=set&type=flash&file=%s&node=%u%s%s%s", esc, j->slot - 1,
		 local ? "&local" : "", sha ? "&sha256=" : "", sha ? hex : "");
	if ((rc = flash_request(j, q)) < 0)
		return rc;
	return follow(j);
}

/* The exit code for rc, said: a cancel (the BMC was asked to stop) is
 * 128 + the signal, a failure tp_cli_fail()'s, a success "flashed and
 * read back by BY" unless --json or -q. */
static int verdict(const struct tp_cli *c, int rc, unsigned slot, const char *by)
{
	if (rc == -ECANCELED) {
		fprintf(stderr, "tpkit flash: %s\n", tp_err_msg());
		return 128 + tp_cancel_signal();
	}
	if (rc < 0)
		return tp_cli_fail(c, rc);
	if (!c->json && c->verbosity >= 0)
		printf("slot %u: flashed and read back by %s\n", slot, by);
	return TP_EXIT_OK;
}

/* --json: the verdict (docs/json.md, "result: remote flash"); a failure
 * other than a cancel is tp_cli_fail()'s line. */
static void json_flash(const struct tp_cli *c, const struct job *j, const char *source,
		       const char *image, int code)
{
	struct tp_json jl;

	tp_remote_json_result(c, &jl, j->r, code == TP_EXIT_OK);
	if (code != TP_EXIT_OK)
		tp_json_int(&jl, "exit", code);
	tp_json_int(&jl, "slot", j->slot);
	tp_json_str(&jl, "result", code == TP_EXIT_OK ? "ok" : "cancelled");
	tp_json_str(&jl, "source", source);
	tp_json_str(&jl, "image", image);
	tp_json_uint_opt(&jl, "handle", j->handle, j->handle != 0);
	tp_json_uint(&jl, "ms", (tp_clock_now_ns() - j->start_ns) / 1000000u);
	if (code != TP_EXIT_OK)
		tp_json_str(&jl, "error", tp_err_msg());
	tp_json_obj_end(&jl);
}

int tp_remote_cmd_flash(struct tp_cli *c, int argc, char **argv)
{
	const char *slots = NULL, *image = NULL, *bmc_file = NULL, *sha = NULL;
	const struct tp_cli_opt opts[] = { { "slot", 's', TP_CLI_STR, &slots },
					   { "image", 'i', TP_CLI_STR, &image },
					   { "bmc-file", 0, TP_CLI_STR, &bmc_file },
					   { "sha256", 0, TP_CLI_STR, &sha },
					   { 0 } };
	struct job j = { .phase = TP_PHASE_WRITE, .start_ns = tp_clock_now_ns() };
	const char *source;
	unsigned mask = 0;
	bool url;
	int rc, code;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	if (!slots || tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0 || tp_slots_count(mask) != 1)
		return tp_cli_usage(c, "which slot? --slot N, one slot: the API flashes one "
				    "node per request");
	if (!image == !bmc_file)
		return tp_cli_usage(c, "give the image: --image FILE|URL, or --bmc-file PATH");
	j.slot = (unsigned)__builtin_ffs((int)mask);
	if ((rc = tp_remote_cli_open(c, &j.r)))
		return rc;
	if ((rc = tp_cancel_install()) < 0) {
		tp_remote_cli_close(j.r);
		return tp_cli_fail(c, rc);
	}
	tp_progress_ui_init(&j.ui, c->json ? TP_PROGRESS_JSON
				   : c->verbosity < 0 ? TP_PROGRESS_NONE : TP_PROGRESS_BAR);
	url = !bmc_file && tp_source_is_url(image);
	source = bmc_file ? "bmc-file" : url ? "url" : "upload";
	if (bmc_file)
		rc = flash_remote_source(&j, bmc_file, true, sha);
	else if (url)
		rc = flash_remote_source(&j, image, false, sha);
	else
		rc = flash_upload(&j, c, image, sha);
	tp_progress_ui_end(&j.ui);
	code = verdict(c, rc, j.slot, c->host);
	if (c->json && (rc == 0 || rc == -ECANCELED))
		json_flash(c, &j, source, bmc_file ? bmc_file : image, code);
	tp_remote_cli_close(j.r);
	return code;
}

int tp_remote_flash_served(const struct tp_cli *c, unsigned slot, const char *image,
			   const char *sha, int *code)
{
	struct job j = { .phase = TP_PHASE_WRITE, .slot = slot };
	bool url = tp_source_is_url(image);
	char path[PATH_MAX], hex[65], from[4096];
	int rc = tp_remote_open_served(&j.r);

	if (rc <= 0)
		return rc < 0 ? tp_err_prefix(rc, "tpkit serve on this BMC: ") : 0;
	/* The server's working directory is not ours. */
	if (!url && !realpath(image, path))
		rc = tp_err_set(-errno, "cannot open %s: %s", image, strerror(errno));
	/* What the local flash would check, the server is told to. */
	if (rc >= 0 && !sha && (rc = tp_checksum_discover(image, hex, from, sizeof(from))) == 0)
		sha = hex;
	if (rc == -ENOENT && !sha)
		rc = 0;
	if (rc < 0) {
		tp_remote_close(j.r);
		return rc;
	}
	if (c->verbosity > 0)
		fprintf(stderr, "tpkit flash: tpkit serve runs on this BMC: it flashes slot %u\n",
			slot);
	tp_progress_ui_init(&j.ui, c->verbosity < 0 ? TP_PROGRESS_NONE : TP_PROGRESS_BAR);
	rc = flash_remote_source(&j, url ? image : path, !url, sha);
	tp_progress_ui_end(&j.ui);
	tp_remote_close(j.r);
	*code = verdict(c, rc, slot, "tpkit serve");
	return 1;
}
