/* SPDX-License-Identifier: MIT */
/*
 * The flash jobs of tpkit serve, shared by api_flash.c (starting them,
 * their state) and api_upload.c (their uploads, their cancel). Every
 * function here wants s->flash.lock held.
 */
#ifndef TP_SERVE_FLASHJOB_H
#define TP_SERVE_FLASHJOB_H

#include "serve.h"

#include <stdint.h>

/* bmcd's word for a state: "Ready", "Transferring", "Done", "Error". */
const char *tp_sf_state_word(enum tp_serve_flash_state st);

/* Stop a running job: the pipeline sees the cancel before the upload's
 * pipe is closed, so a stream that looks whole is still never flashed.
 * why is the state's error afterwards. Only this job's threads see it
 * (its scope). */
void tp_sf_cancel(struct tp_serve_flash *f, int sig, const char *why);

/* The job with this handle, running or ended, or NULL. */
struct tp_serve_flash *tp_sf_by_handle(struct tp_serve_flashes *fl, uint32_t handle);

/* The running job of the lowest slot, or NULL. */
struct tp_serve_flash *tp_sf_running_first(struct tp_serve_flashes *fl);

/* How many jobs run. */
unsigned tp_sf_running(const struct tp_serve_flashes *fl);

#endif
