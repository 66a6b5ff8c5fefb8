// SPDX-License-Identifier: MIT
/*
 * A flash job's upload and cancel (serve.md §6): POST
 * /api/bmc/upload/<handle>, multipart/form-data streamed into the job's pipe
 * as it arrives, never buffered whole; and GET /api/bmc/upload/<handle>/cancel.
 * The jobs themselves are api_flash.c's (flashjob.h).
 */
#include "serve.h"
#include "flashjob.h"
#include "common/log.h"

#include <civetweb.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct upload {
	struct tp_serve_flash *f;
	int fd;                   /* the pipe's write end, owned here */
	bool first_done;          /* only the first field is the image */
	uint64_t got;
	int err;                  /* errno of a failed write */
};

static int field_found(const char *key, const char *filename, char *path, size_t pathlen,
		       void *user)
{
	struct upload *u = user;

	(void)key, (void)filename, (void)path, (void)pathlen;
	if (u->first_done)
		return MG_FORM_FIELD_STORAGE_ABORT;
	return MG_FORM_FIELD_STORAGE_GET;
}

static int field_get(const char *key, const char *value, size_t len, void *user)
{
	struct upload *u = user;

	(void)key;
	/* More than the request said: nothing of it reaches the pipeline,
	 * and upload() stops the job. */
	if (len > u->f->size - u->got) {
		u->err = EFBIG;
		return MG_FORM_FIELD_HANDLE_ABORT;
	}
	while (len) {
		ssize_t n = write(u->fd, value, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			u->err = n < 0 ? errno : EPIPE;
			return MG_FORM_FIELD_HANDLE_ABORT;
		}
		value += n;
		len -= (size_t)n;
		u->got += (uint64_t)n;
	}
	return MG_FORM_FIELD_HANDLE_GET;
}

static int field_store(const char *path, long long size, void *user)
{
	(void)path, (void)size, (void)user;
	return MG_FORM_FIELD_HANDLE_ABORT;
}

/* After an upload that went wrong: wait (bounded) for the job to end, so
 * the answer can carry its reason, as bmcd waits 5 s for its worker. */
static void job_wait(struct tp_serve_flash *f, int seconds)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	while (f->state == TP_SF_RUNNING &&
	       pthread_cond_timedwait(&f->srv->flash.cond, &f->srv->flash.lock, &until) == 0)
		;
}

static int upload(struct tp_req *r, uint32_t handle)
{
	struct tp_serve_flashes *fl = &r->srv->flash;
	struct tp_serve_flash *f;
	struct upload u = { .fd = -1 };
	struct mg_form_data_handler h = { .field_found = field_found, .field_get = field_get,
					  .field_store = field_store, .user_data = &u };
	enum tp_serve_flash_state st = TP_SF_READY;
	char msg[1200];

	pthread_mutex_lock(&fl->lock);
	f = tp_sf_by_handle(fl, handle);
	if (!f || f->state != TP_SF_RUNNING || !f->upload || f->upload_started) {
		bool running = f && f->state == TP_SF_RUNNING;

		/* bmcd's answers (serve.md §6): its one state, here the job's
		 * or, for a handle of none, the running one's if any. */
		if (f)
			st = f->state;
		else if (tp_sf_running_first(fl))
			st = TP_SF_RUNNING;
		pthread_mutex_unlock(&fl->lock);
		if (running)
			return tp_env_error(r, 400, "cannot transfer bytes to worker. This is either "
					    "because the transfer happens locally, or is already "
					    "ongoing.");
		if (st == TP_SF_RUNNING)
			return tp_env_error(r, 400, "unauthorized request for handle");
		return tp_env_error(r, 400, "cannot execute command in current state. current=%s, "
				    "expected=Transferring", tp_sf_state_word(st));
	}
	u.f = f;
	f->upload_started = true;
	u.fd = f->pipe_w;
	f->pipe_w = -1; /* this request owns it now */
	pthread_cond_broadcast(&fl->cond);
	pthread_mutex_unlock(&fl->lock);

	mg_handle_form_request(r->conn, &h);
	/* An upload that is not exactly `length` bytes stops the job before
	 * its pipe closes: a raw image cut short (a client gone, a read
	 * timeout) looks whole to the pipeline, and must not be flashed. */
	pthread_mutex_lock(&fl->lock);
	if (u.err == EFBIG || u.got < f->size) {
		char why[200];

		if (u.err == EFBIG)
			snprintf(why, sizeof(why), "the upload is longer than its length %" PRIu64
				 " bytes", f->size);
		else
			snprintf(why, sizeof(why), "the upload ended after %" PRIu64 " of %" PRIu64
				 " bytes", u.got, f->size);
		tp_sf_cancel(f, SIGINT, why);
	}
	pthread_mutex_unlock(&fl->lock);
	close(u.fd);

	pthread_mutex_lock(&fl->lock);
	if (u.got == f->size && !u.err) {
		pthread_mutex_unlock(&fl->lock);
		return tp_http_send(r, 200, "text/plain", "", 0, NULL);
	}
	/* Short, long or refused: the pipeline has seen the end of a wrong
	 * input, fails, and puts the node back; the answer says why. */
	job_wait(f, 30);
	if (u.err == EFBIG)
		snprintf(msg, sizeof(msg), "the upload is longer than its length %" PRIu64
			 " bytes; the flash is stopped and node %u put back", f->size, f->slot);
	else if (u.got < f->size && !u.err)
		snprintf(msg, sizeof(msg), "missing %" PRIu64 " bytes", f->size - u.got);
	else
		snprintf(msg, sizeof(msg), "%s", f->state == TP_SF_ERROR ? f->error :
			 "transfer canceled");
	pthread_mutex_unlock(&fl->lock);
	return tp_env_error(r, u.err == EFBIG || (u.got < f->size && !u.err) ? 400 : 500, "%s",
			    msg);
}

/* GET /upload/<handle>/cancel: that job. bmcd cancels whatever runs,
 * whatever the handle (serve.md §6); so does this when one job runs, but
 * with several a wrong handle cancels none. */
static int cancel(struct tp_req *r, uint32_t handle)
{
	struct tp_serve_flashes *fl = &r->srv->flash;
	struct tp_serve_flash *f;
	unsigned running;

	pthread_mutex_lock(&fl->lock);
	running = tp_sf_running(fl);
	f = tp_sf_by_handle(fl, handle);
	if (!f || f->state != TP_SF_RUNNING)
		f = running == 1 ? tp_sf_running_first(fl) : NULL;
	if (!f && running > 1) {
		pthread_mutex_unlock(&fl->lock);
		return tp_env_error(r, 400, "no running transfer has handle %" PRIu32 "; %u are "
				    "running, none was cancelled", handle, running);
	}
	if (f && !f->cancelled)
		tp_log(TP_LOG_INFO, "slot %u: flash cancelled by a client", f->slot);
	if (f)
		tp_sf_cancel(f, SIGINT, "cancelled by user");
	pthread_mutex_unlock(&fl->lock);
	return tp_http_send(r, 200, "text/plain", "", 0, NULL);
}

int tp_api_upload(struct tp_req *r, const char *rest)
{
	unsigned long long h;
	char *end;

	errno = 0;
	h = strtoull(rest, &end, 10);
	if (end == rest || errno || h > UINT32_MAX || (*end && strcmp(end, "/cancel")))
		return tp_env_error(r, 404, "no such upload path");
	if (*end)
		return cancel(r, (uint32_t)h);
	if (strcmp(r->ri->request_method, "POST"))
		return tp_env_error(r, 405, "the upload takes POST with multipart/form-data");
	return upload(r, (uint32_t)h);
}

