// SPDX-License-Identifier: MIT
/*
 * What --image means for a flash run, per module kind: a file, URL or stdin
 * is the same for every slot; a catalogue name or "auto" is resolved per
 * module (commissioning.md §3), so a board with RK1s and CM4s gets two
 * images, each decoded once and fanned out to its slots. Also the progress
 * of several pipelines summed into one, so the user sees one bar.
 */
#include "flash_priv.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

/* A tp_progress_fn per source; called from that source's pipeline threads,
 * and several sources' pipelines run at once. */
static void progress_sum(void *cookie, const struct tp_progress *p)
{
	struct tp_flash_src *src = cookie;
	struct tp_flash_srcs *ss = src->ss;
	struct tp_progress sum = { .phase = p->phase };
	bool known = true, open = false;

	pthread_mutex_lock(&ss->lock);
	src->last[p->phase] = *p;
	for (size_t i = 0; i < ss->n; i++) {
		const struct tp_progress *q = &ss->s[i].last[p->phase];

		if (!ss->s[i].img)
			continue;
		open = true;
		sum.done += q->done;
		sum.total += q->total;
		sum.rate += q->rate;
		known = known && (q->total || !q->done);
	}
	if (!known)
		sum.total = 0; /* one image's size is unknown: so is the sum's */
	if (!open)
		sum = *p; /* hashing a cached copy before the run */
	ss->o->progress(ss->o->progress_cookie, &sum);
	pthread_mutex_unlock(&ss->lock);
}

static void src_init(struct tp_flash_srcs *ss, struct tp_flash_src *src,
		     const struct tp_flash_module *m)
{
	const struct tp_flash_opts *o = ss->o;

	memset(src, 0, sizeof(*src));
	src->ss = ss;
	src->m = m;
	src->io = o->io;
	src->io.src = o->image;
	src->io.progress = NULL;
	src->pick.catalogue = o->catalogue;
	src->pick.cache_dir = o->cache_dir;
	if (o->progress) {
		src->io.progress = progress_sum;
		src->io.progress_cookie = src;
	}
}

int tp_flash_srcs_init(struct tp_flash_srcs *ss, const struct tp_flash_opts *o,
		       const struct tp_flash_module *const *mods, size_t nmods)
{
	int first = 0;

	memset(ss, 0, sizeof(*ss));
	ss->o = o;
	pthread_mutex_init(&ss->lock, NULL);
	for (size_t i = 0; i < nmods && i < TP_FLASH_MODULES; i++) {
		struct tp_flash_src *src = &ss->s[ss->n];
		int rc;

		src_init(ss, src, mods[i]);
		/* A cached copy is hashed whole here, before the node is
		 * touched, and refused if corrupt (cache.h). */
		rc = tp_catalogue_resolve(o->image, mods[i]->name, &src->io, &src->pick);
		if (rc == 1) {
			/* Not a catalogue name: one source for every module. */
			src->m = NULL;
			ss->n = 1;
			return 0;
		}
		ss->n++;
		if (rc < 0) {
			tp_err_save(&src->err, rc);
			first = first ? first : rc;
		} else {
			TP_INFO("%s: --image %s is %s", mods[i]->title, o->image, src->pick.name);
		}
	}
	for (size_t i = 0; i < ss->n; i++)
		if (!ss->s[i].err.rc)
			return 0;
	for (size_t i = 0; i < ss->n; i++)
		if (ss->s[i].err.rc == first)
			return tp_err_restore(&ss->s[i].err);
	return tp_err_set(-ENOENT, "no image to flash");
}

int tp_flash_src_open(struct tp_flash_src *src)
{
	int rc;

	if (src->err.rc < 0)
		return tp_err_restore(&src->err);
	if (src->img)
		return 0;
	memset(src->last, 0, sizeof(src->last));
	/* Opening finds the format and, where it can, the size; a URL is
	 * connected to, so a 404 shows here. */
	rc = tp_image_open(&src->img, &src->io);
	if (rc < 0) {
		src->img = NULL;
		tp_err_save(&src->err, rc);
	}
	return rc;
}

bool tp_flash_srcs_single(const struct tp_flash_srcs *ss)
{
	return ss->n == 1 && !ss->s[0].m;
}

struct tp_flash_src *tp_flash_src_for(struct tp_flash_srcs *ss, const struct tp_flash_module *m)
{
	for (size_t i = 0; i < ss->n; i++)
		if (!ss->s[i].m || ss->s[i].m == m)
			return &ss->s[i];
	return NULL;
}

void tp_flash_srcs_close(struct tp_flash_srcs *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		tp_image_close(ss->s[i].img);
		ss->s[i].img = NULL;
	}
}

void tp_flash_srcs_free(struct tp_flash_srcs *ss)
{
	tp_flash_srcs_close(ss);
	pthread_mutex_destroy(&ss->lock);
}
