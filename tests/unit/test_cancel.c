// SPDX-License-Identifier: MIT
/*
 * Cancel scopes (common/cancel.h): a job's threads, started with
 * tp_cancel_thread_create() from inside its scope, see that job's cancel
 * and the process's, never another job's; tp_cancel_hold() hides both.
 * Runs under TSan in CI (make SANITIZE=thread check-unit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "common/cancel.h"
#include "common/err.h"

/* What a thread saw: tp_cancelled() and tp_cancel_check() (its message). */
struct seen {
	int sig, check;
	char msg[256];
	bool hold;           /* look from inside tp_cancel_hold() */
};

static void *look(void *p)
{
	struct seen *s = p;

	if (s->hold)
		tp_cancel_hold();
	s->sig = tp_cancelled();
	s->check = tp_cancel_check();
	snprintf(s->msg, sizeof(s->msg), "%s", s->check ? tp_err_msg() : "");
	if (s->hold)
		tp_cancel_unhold();
	return NULL;
}

/* A job: enters its scope, then looks from a thread it starts, as a
 * pipeline's reader or writer does. */
struct job {
	struct tp_cancel_scope *scope;
	struct seen seen;
	int rc;
};

static void *job_main(void *p)
{
	struct job *j = p;
	pthread_t th;

	tp_cancel_scope_enter(j->scope);
	j->rc = tp_cancel_thread_create(&th, look, &j->seen);
	if (j->rc == 0)
		pthread_join(th, NULL);
	return NULL;
}

static void run_job(struct job *j)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, job_main, j), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(j->rc, 0);
}

static void scope_is_its_own(void **state)
{
	struct tp_cancel_scope a = { 0 }, b = { 0 };
	struct job ja = { .scope = &a }, jb = { .scope = &b }, jheld = { .scope = &a };
	struct seen outside = { 0 };
	pthread_t th;

	(void)state;
	tp_cancel_scope_raise(&a, SIGINT);
	run_job(&ja);
	run_job(&jb);
	jheld.seen.hold = true;
	run_job(&jheld);
	/* A thread outside every scope: not cancelled either. */
	assert_int_equal(pthread_create(&th, NULL, look, &outside), 0);
	pthread_join(th, NULL);

	assert_int_equal(ja.seen.sig, SIGINT);
	assert_int_equal(ja.seen.check, -ECANCELED);
	assert_string_equal(ja.seen.msg, "cancelled by signal 2 (Interrupt)");
	assert_int_equal(jb.seen.sig, 0);
	assert_int_equal(jb.seen.check, 0);
	assert_int_equal(jheld.seen.sig, 0);
	assert_int_equal(outside.sig, 0);
	/* The first cancel stays: a later one does not replace its reason. */
	tp_cancel_scope_raise(&a, SIGTERM);
	ja.seen = (struct seen){ 0 };
	run_job(&ja);
	assert_int_equal(ja.seen.sig, SIGINT);
}

static void process_cancel_reaches_every_scope(void **state)
{
	struct tp_cancel_scope b = { 0 };
	struct job jb = { .scope = &b };

	(void)state;
	tp_cancel_raise(SIGTERM);
	run_job(&jb);
	tp_cancel_reset();
	assert_int_equal(jb.seen.sig, SIGTERM);
	assert_int_equal(jb.seen.check, -ECANCELED);
	assert_int_equal(tp_cancelled(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scope_is_its_own),
		cmocka_unit_test(process_cancel_reaches_every_scope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
