// SPDX-License-Identifier: MIT
/*
 * Cooling (serve.md §5): every thermal cooling device with its speed
 * and maximum, and setting one. The v2.5 PWM fan is named as bmcd names it,
 * by its device-tree node with dashes as spaces ("system fan"). Unlike
 * bmcd, tpkit does not re-apply a speed at start: the kernel's thermal
 * governor or the last writer owns it (docs/serve.md).
 */
#include "serve.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THERMAL "/sys/class/thermal"

struct cooling {
	char dir[64];   /* cooling_deviceN */
	char name[128];
	long speed, max;
};

static long read_long(const char *dir, const char *attr)
{
	char path[160], buf[32];

	snprintf(path, sizeof(path), THERMAL "/%s/%s", dir, attr);
	if (tp_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static bool cooling_read(const char *dir, struct cooling *c)
{
	char path[160];

	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(path, sizeof(path), THERMAL "/%s/device/of_node/name", dir);
	if (tp_file_read(path, c->name, sizeof(c->name)) < 0) {
		snprintf(path, sizeof(path), THERMAL "/%s/type", dir);
		if (tp_file_read(path, c->name, sizeof(c->name)) < 0)
			return false;
	}
	c->name[strcspn(c->name, "\n")] = '\0';
	for (char *p = c->name; *p; p++)
		if (*p == '-')
			*p = ' ';
	c->speed = read_long(dir, "cur_state");
	c->max = read_long(dir, "max_state");
	return c->speed >= 0 && c->max >= 0;
}

/* Call fn for each readable cooling device, in directory order; stops at a
 * nonzero return and returns it. */
static int cooling_each(int (*fn)(void *, const struct cooling *), void *cookie)
{
	char path[TP_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (tp_path(path, sizeof(path), THERMAL) < 0 || !(d = opendir(path)))
		return 0;
	while (!rc && (de = readdir(d))) {
		struct cooling c;

		if (!strncmp(de->d_name, "cooling_device", 14) && cooling_read(de->d_name, &c))
			rc = fn(cookie, &c);
	}
	closedir(d);
	return rc;
}

static int list_one(void *cookie, const struct cooling *c)
{
	struct tp_json *j = cookie;

	tp_json_obj_begin(j, NULL);
	tp_json_str(j, "device", c->name);
	tp_json_int(j, "speed", c->speed);
	tp_json_int(j, "max_speed", c->max);
	tp_json_obj_end(j);
	return 0;
}

int tp_api_cooling_get(struct tp_req *r)
{
	struct tp_env e;

	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_arr_begin(e.json, "result");
	cooling_each(list_one, e.json);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}

struct find {
	const char *name;
	struct cooling found;
};

static int find_one(void *cookie, const struct cooling *c)
{
	struct find *f = cookie;

	if (strcmp(c->name, f->name))
		return 0;
	f->found = *c;
	return 1;
}

int tp_api_cooling_set(struct tp_req *r)
{
	const char *dev = tp_query_get(&r->q, "device"), *v = tp_query_get(&r->q, "speed");
	struct find f = { .name = dev };
	char path[160], val[24], *end;
	long speed;
	int rc;

	if (!dev)
		return tp_env_error(r, 400, "Missing `device` parameter");
	if (!v)
		return tp_env_error(r, 400, "Missing `speed` parameter");
	speed = strtol(v, &end, 10);
	if (!*v || *end || speed < 0)
		return tp_env_error(r, 400, "Parameter `speed` is not a number: %.20s", v);
	if (!cooling_each(find_one, &f))
		return tp_env_error(r, 400, "no cooling device \"%.100s\"", dev);
	if (speed > f.found.max)
		return tp_env_error(r, 400, "speed %ld is above %s's max_speed %ld", speed, dev,
				    f.found.max);
	snprintf(path, sizeof(path), THERMAL "/%s/cur_state", f.found.dir);
	snprintf(val, sizeof(val), "%ld", speed);
	if ((rc = tp_file_write(path, val)) < 0)
		return tp_env_fail(r, "set the cooling device's speed", rc);
	return tp_env_ok(r);
}
