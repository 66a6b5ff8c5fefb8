// SPDX-License-Identifier: MIT
/*
 * Flashing through the API (serve.md §6): the
 * handle, the job, and the transfer state clients poll; the upload and
 * cancel are api_upload.c's. The job is tpkit flash's own, tp_flash_slots(),
 * on a board handle of its own, so power and USB requests on other slots
 * go on while it runs; a request that needs a line the flash holds is
 * refused as busy.
 *
 * bmcd has one transfer, and a second request aborts the first. Here each
 * slot has its own job: on a hub board (v2.5+) slots flash at once, each
 * job in a cancel scope of its own, sharing the hub's upstream line
 * (flashmode.h); a v2.4 board's mux reaches one node at a time, so there
 * a second request is refused while one runs. Which job a status request
 * sees is serve.md §6's choice: the handle or node it names, else the
 * last one its client asked for, else the last one.
 *
 * An upload never lands in memory or on disk: the multipart field goes,
 * chunk by chunk, into a pipe the pipeline reads as its source, and the
 * pipe's 64 KiB is all the buffering there is; a full pipe holds the
 * client back, as bmcd's 16-chunk channel does.
 */
#define _GNU_SOURCE /* pipe2 */
#include "serve.h"
#include "flashjob.h"
#include "bmc/flash.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/slots.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


const char *tp_sf_state_word(enum tp_serve_flash_state st)
{
	static const char *const w[] = { "Ready", "Transferring", "Done", "Error" };

	return w[st];
}

void tp_api_flash_init(struct tp_serve *s)
{
	struct tp_serve_flashes *fl = &s->flash;

	pthread_mutex_init(&fl->lock, NULL);
	pthread_cond_init(&fl->cond, NULL);
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++) {
		fl->job[i].srv = s;
		fl->job[i].slot = i + 1;
		fl->job[i].state = TP_SF_READY;
		fl->job[i].pipe_r = fl->job[i].pipe_w = -1;
	}
}

/* The lock of every job, and its condition variable. */
static pthread_mutex_t *job_lock(struct tp_serve_flash *f)
{
	return &f->srv->flash.lock;
}

static pthread_cond_t *job_cond(struct tp_serve_flash *f)
{
	return &f->srv->flash.cond;
}

/* Close the upload's write end: the pipeline then sees the end of its
 * input. Caller holds the lock. */
static void pipe_w_close(struct tp_serve_flash *f)
{
	if (f->pipe_w >= 0)
		close(f->pipe_w);
	f->pipe_w = -1;
	pthread_cond_broadcast(job_cond(f));
}

void tp_sf_cancel(struct tp_serve_flash *f, int sig, const char *why)
{
	if (f->state != TP_SF_RUNNING || f->cancelled)
		return;
	f->cancelled = true;
	snprintf(f->cancel_why, sizeof(f->cancel_why), "%s", why);
	tp_cancel_scope_raise(&f->scope, sig);
	pipe_w_close(f);
}

struct tp_serve_flash *tp_sf_by_handle(struct tp_serve_flashes *fl, uint32_t handle)
{
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++)
		if (fl->job[i].state != TP_SF_READY && fl->job[i].handle == handle)
			return &fl->job[i];
	return NULL;
}

struct tp_serve_flash *tp_sf_running_first(struct tp_serve_flashes *fl)
{
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++)
		if (fl->job[i].state == TP_SF_RUNNING)
			return &fl->job[i];
	return NULL;
}

unsigned tp_sf_running(const struct tp_serve_flashes *fl)
{
	unsigned n = 0;

	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++)
		n += fl->job[i].state == TP_SF_RUNNING;
	return n;
}

unsigned tp_api_flash_running(struct tp_serve *s)
{
	struct tp_serve_flash *f;
	unsigned slot;

	pthread_mutex_lock(&s->flash.lock);
	f = tp_sf_running_first(&s->flash);
	slot = f ? f->slot : 0;
	pthread_mutex_unlock(&s->flash.lock);
	return slot;
}

static void on_progress(void *cookie, const struct tp_progress *p)
{
	struct tp_serve_flash *f = cookie;

	/* bmcd's bytes_written counts the device's bytes, and starts again
	 * from 0 for the read-back (serve.md §6); clients expect that. A
	 * URL's size is its download's, once the server says it. */
	pthread_mutex_lock(job_lock(f));
	if (p->phase != TP_PHASE_DOWNLOAD)
		f->written = p->done;
	else if (!f->size && p->total)
		f->size = p->total;
	pthread_mutex_unlock(job_lock(f));
}

static void *worker(void *arg)
{
	struct tp_serve_flash *f = arg;
	struct tp_serve *s = f->srv;
	struct tp_flash_result res[TP_BOARD_SLOTS];
	struct tp_flash_opts o = { 0 };
	struct tp_board *b = NULL;
	struct timespec until;
	size_t n = 0;
	int rc;

	/* This job's threads see its cancel, and only its. */
	tp_cancel_scope_enter(&f->scope);
	pthread_mutex_lock(job_lock(f));
	if (f->upload) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += s->o.upload_wait_s;
		while (!f->upload_started && !f->cancelled &&
		       pthread_cond_timedwait(job_cond(f), job_lock(f), &until) == 0)
			;
		if (!f->upload_started) {
			if (f->cancelled)
				snprintf(f->error, sizeof(f->error), "%s", f->cancel_why);
			else
				snprintf(f->error, sizeof(f->error), "no upload to handle %" PRIu32
					 " within %u s", f->handle, s->o.upload_wait_s);
			pipe_w_close(f);
			goto out_locked;
		}
	}
	pthread_mutex_unlock(job_lock(f));

	tp_image_opts_init(&o.io);
	/* The xz decoders' memory limit is the BMC's, shared by the jobs
	 * running when this one started (Kconfig TPKIT_SERVE_FLASH_JOBS): a
	 * stream that needs more is refused with what it needs. */
	o.io.xz_memlimit /= f->share ? f->share : 1;
	/* The image's checksum is the one the request gives; a pipe has no
	 * IMAGE.sha256 beside it. */
	o.io.discover_sha256 = false;
	o.io.sha256 = f->sha256[0] ? f->sha256 : NULL;
	o.image = f->src;
	o.enum_timeout_ms = CONFIG_TPKIT_FLASH_ENUM_TIMEOUT_MS;
	o.progress = on_progress;
	o.progress_cookie = f;
	tp_flash_mopts_copy(&o, &s->o.flash);
	rc = tp_board_open(&b, &s->o.board);
	if (rc == 0) {
		/* Its claim waits for a status read holding a line a moment
		 * on the server's own handle (board.h). */
		b->claim_lock = &s->board_lock;
		n = tp_flash_slots(b, TP_SLOT_BIT(f->slot), &o, res);
		tp_board_close(b);
		rc = n == 1 ? res[0].rc : -EIO;
		if (n == 1 && rc < 0)
			tp_err_set(rc, "%s", res[0].msg);
	}
	pthread_mutex_lock(job_lock(f));
	if (rc < 0)
		snprintf(f->error, sizeof(f->error), "%s",
			 f->cancelled ? f->cancel_why : tp_err_msg());
	if (rc < 0 && n == 1 && !res[0].restored)
		tp_log(TP_LOG_ERR, "slot %u: flash failed and the node could not be put back: %s",
		       f->slot, res[0].msg);
out_locked:
	/* The pipeline has closed its own descriptor; this one goes now, so
	 * an upload still writing gets EPIPE instead of waiting for ever. */
	if (f->pipe_r >= 0)
		close(f->pipe_r);
	f->pipe_r = -1;
	f->elapsed_ns = tp_clock_now_ns() - f->start_ns;
	f->state = f->error[0] ? TP_SF_ERROR : TP_SF_DONE;
	tp_log(TP_LOG_INFO, "slot %u: flash %s%s", f->slot, f->error[0] ? "failed: " : "done",
	       f->error);
	pthread_cond_broadcast(job_cond(f));
	pthread_mutex_unlock(job_lock(f));
	return NULL;
}

/* A raw JSON body, not enveloped (serve.md §4.2's exceptions). */
static int send_raw(struct tp_req *r, const char *body)
{
	return tp_http_send(r, 200, "text/plain; charset=utf-8", body, strlen(body), NULL);
}

/* Why slot may not start a flash now, or NULL (lock held): its own job
 * runs; or, on a board whose mux reaches one node at a time, another's;
 * or as many as --flash-jobs run (each a pipeline of its own: memory). */
static struct tp_serve_flash *flash_blocker(struct tp_serve *s, unsigned slot, bool *full)
{
	struct tp_serve_flashes *fl = &s->flash;
	unsigned most = s->board->desc->usb_bus == TP_USB_MUX ? 1 : s->o.flash_jobs;

	*full = false;
	if (fl->job[slot - 1].state == TP_SF_RUNNING)
		return &fl->job[slot - 1];
	if (tp_sf_running(fl) < (most ? most : 1))
		return NULL;
	*full = most > 1;
	return tp_sf_running_first(fl);
}

int tp_api_flash_set(struct tp_req *r)
{
	struct tp_serve_flashes *fl = &r->srv->flash;
	struct tp_serve_flash *f, *busy;
	bool full;
	const char *file = tp_query_get(&r->q, "file"), *len = tp_query_get(&r->q, "length");
	const char *sum = tp_query_get(&r->q, "sha256");
	bool local = tp_query_get(&r->q, "local") != NULL;
	uint64_t size = 0;
	unsigned slot;
	uint32_t handle;
	char body[64], *end;
	int p[2];

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	if (!file || !*file)
		return tp_env_error(r, 400, "Missing `file` parameter");
	if (sum && (strlen(sum) != 64 || strspn(sum, "0123456789abcdefABCDEF") != 64))
		return tp_env_error(r, 400, "Parameter `sha256` is not 64 hex digits");
	if (local) {
		/* A path on the BMC: refused now if it cannot be read, and its
		 * size is the transfer's, as bmcd reports it. */
		struct stat st;

		errno = 0;
		if (stat(file, &st) < 0 || !S_ISREG(st.st_mode) || access(file, R_OK) < 0)
			return tp_env_error(r, 400, "cannot read the local file %.300s: %s", file,
					    errno ? strerror(errno) : "not a file");
		size = (uint64_t)st.st_size;
	} else if (strncmp(file, "http", 4)) {
		errno = 0;
		size = len ? strtoull(len, &end, 10) : 0;
		if (!len || !*len || *end || errno || !size)
			return tp_env_error(r, 411, "Invalid `length` query parameter");
	}
	/* A node exported as a USB disk is flashed as any other: the export
	 * goes first (api_msd.c). */
	tp_api_msd_drop(r->srv, slot);
	pthread_mutex_lock(&fl->lock);
	/* bmcd drops a running transfer for a new one (serve.md §7); here
	 * the running one is kept and the new request refused. */
	if ((busy = flash_blocker(r->srv, slot, &full))) {
		unsigned bslot = busy->slot, n = tp_sf_running(fl);
		uint32_t bh = busy->handle;

		pthread_mutex_unlock(&fl->lock);
		if (full)
			return tp_env_error(r, 409, "%u flashes run already, as many as this server "
					    "runs at once (--flash-jobs %u: each takes memory); "
					    "wait for one to end", n, n);
		return tp_env_error(r, 409, "node %u is being flashed (handle %" PRIu32 ")%s; wait "
				    "for it, or cancel it with GET /api/bmc/upload/%" PRIu32
				    "/cancel", bslot, bh, bslot == slot ? "" :
				    ", and this board's USB mux reaches one node at a time", bh);
	}
	f = &fl->job[slot - 1];
	if (f->joinable)
		pthread_join(f->worker, NULL);
	f->joinable = false;
	/* A handle no other job has: clients tell jobs apart by it. */
	do {
		if (RAND_bytes((unsigned char *)&handle, sizeof(handle)) != 1)
			handle = (uint32_t)tp_clock_now_ns();
	} while (tp_sf_by_handle(fl, handle));
	f->handle = handle;
	f->client = r->client;
	f->seq = ++fl->seq;
	f->size = size;
	f->written = 0;
	f->cancelled = f->upload_started = false;
	atomic_store(&f->scope.sig, 0);
	f->upload = !local && strncmp(file, "http", 4);
	f->error[0] = '\0';
	snprintf(f->sha256, sizeof(f->sha256), "%s", sum ? sum : "");
	if (f->upload) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			pthread_mutex_unlock(&fl->lock);
			return tp_env_error(r, 500, "Failed to start the transfer: pipe: %s",
					    strerror(errno));
		}
		f->pipe_r = p[0];
		f->pipe_w = p[1];
		snprintf(f->src, sizeof(f->src), "/dev/fd/%d", p[0]);
	} else {
		snprintf(f->src, sizeof(f->src), "%s", file);
	}
	f->start_ns = tp_clock_now_ns();
	f->state = TP_SF_RUNNING;
	f->share = tp_sf_running(fl);
	if (pthread_create(&f->worker, NULL, worker, f) != 0) {
		f->state = TP_SF_ERROR;
		snprintf(f->error, sizeof(f->error), "cannot start the flash job");
		pipe_w_close(f);
		if (f->pipe_r >= 0)
			close(f->pipe_r);
		f->pipe_r = -1;
		pthread_mutex_unlock(&fl->lock);
		return tp_env_error(r, 500, "Failed to start the transfer: no thread");
	}
	f->joinable = true;
	pthread_mutex_unlock(&fl->lock);
	tp_log(TP_LOG_INFO, "slot %u: flash of %s started (handle %" PRIu32 ")", slot,
	       f->upload ? "an upload" : file, handle);
	snprintf(body, sizeof(body), "{\"handle\":%" PRIu32 "}", handle);
	return send_raw(r, body);
}

/*
 * The job a status request is about (lock held), or NULL for "Ready":
 * the one its `handle` names (a tpkit extension; bmcd ignores it), else
 * its `node`'s, else the last its client asked for — tpi asserts that the
 * state's id is its own handle, and two clients may flash at once — else
 * the last any client asked for. *bad: the handle named no job.
 */
static struct tp_serve_flash *job_for_status(struct tp_req *r, bool *bad)
{
	struct tp_serve_flashes *fl = &r->srv->flash;
	const char *h = tp_query_get(&r->q, "handle");
	struct tp_serve_flash *mine = NULL, *last = NULL;
	unsigned slot;

	*bad = false;
	if (h) {
		char *end;
		unsigned long long v;
		struct tp_serve_flash *f;

		errno = 0;
		v = strtoull(h, &end, 10);
		f = end != h && !*end && !errno && v <= UINT32_MAX ?
			    tp_sf_by_handle(fl, (uint32_t)v) : NULL;
		*bad = !f;
		return f;
	}
	if (tp_query_get(&r->q, "node") && tp_query_node(&r->q, &slot) == 0)
		return fl->job[slot - 1].state == TP_SF_READY ? NULL : &fl->job[slot - 1];
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++) {
		struct tp_serve_flash *f = &fl->job[i];

		if (f->state == TP_SF_READY)
			continue;
		if (!last || f->seq > last->seq)
			last = f;
		if (f->client == r->client && (!mine || f->seq > mine->seq))
			mine = f;
	}
	return mine ? mine : last;
}

int tp_api_flash_get(struct tp_req *r)
{
	struct tp_serve_flashes *fl = &r->srv->flash;
	struct tp_serve_flash *f;
	char *buf = NULL;
	size_t len = 0;
	struct tp_json j;
	FILE *m;
	bool bad;
	int rc;

	pthread_mutex_lock(&fl->lock);
	f = job_for_status(r, &bad);
	if (bad) {
		pthread_mutex_unlock(&fl->lock);
		return tp_env_error(r, 400, "no transfer has handle %.40s",
				    tp_query_get(&r->q, "handle"));
	}
	if (!(m = open_memstream(&buf, &len))) {
		pthread_mutex_unlock(&fl->lock);
		return tp_env_error(r, 500, "out of memory");
	}
	tp_json_init(&j, m);
	j.not_event = true;
	switch (f ? f->state : TP_SF_READY) {
	case TP_SF_READY:
		fputs("\"Ready\"", m);
		break;
	case TP_SF_RUNNING: {
		char name[64];

		snprintf(name, sizeof(name), "Node %u os install service", f->slot);
		tp_json_obj_begin(&j, NULL);
		tp_json_obj_begin(&j, "Transferring");
		tp_json_uint(&j, "id", f->handle);
		tp_json_str(&j, "process_name", name);
		tp_json_uint(&j, "size", f->size);
		tp_json_bool(&j, "cancelled", f->cancelled);
		tp_json_uint(&j, "bytes_written", f->written);
		tp_json_obj_end(&j);
		tp_json_obj_end(&j);
		break;
	}
	case TP_SF_DONE:
		fprintf(m, "{\"Done\":[{\"secs\":%" PRIu64 ",\"nanos\":%" PRIu64 "},%" PRIu64 "]}",
			f->elapsed_ns / 1000000000u, f->elapsed_ns % 1000000000u, f->size);
		break;
	case TP_SF_ERROR:
		tp_json_obj_begin(&j, NULL);
		tp_json_str(&j, "Error", f->error);
		tp_json_obj_end(&j);
		break;
	}
	pthread_mutex_unlock(&fl->lock);
	fclose(m);
	rc = tp_http_send(r, 200, "text/plain; charset=utf-8", buf, len, NULL);
	free(buf);
	return rc;
}

void tp_api_flash_stop(struct tp_serve *s)
{
	struct tp_serve_flashes *fl = &s->flash;

	pthread_mutex_lock(&fl->lock);
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++)
		tp_sf_cancel(&fl->job[i], SIGTERM, "cancelled: tpkit serve is stopping");
	pthread_mutex_unlock(&fl->lock);
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++) {
		if (fl->job[i].joinable)
			pthread_join(fl->job[i].worker, NULL);
		fl->job[i].joinable = false;
	}
}
