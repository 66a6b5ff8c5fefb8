// SPDX-License-Identifier: MIT
/*
 * The tables of tpkit flash, collected in one place: the module kinds
 * (modules.def, each defined in its own flash_NAME.c) and the phases of a
 * job (flash_phases.def). Everything that needs to know which modules
 * exist — the probe, prepare, the image sources, the command's options and
 * --help — walks tp_flash_modules[] rather than naming a module.
 */
#include "flash.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

const struct tp_flash_module *const tp_flash_modules[] = {
#define MODULE(name) &tp_flash_##name,
#include "modules.def"
#undef MODULE
};

static const char *const phase_names[] = {
#define PHASE(id, name, text, cause) [TP_FLASH_PHASE_##id] = name,
#include "flash_phases.def"
#undef PHASE
};

static const char *const phase_texts[] = {
#define PHASE(id, name, text, cause) [TP_FLASH_PHASE_##id] = text,
#include "flash_phases.def"
#undef PHASE
};

const char *tp_flash_phase_text(enum tp_flash_phase p)
{
	return (unsigned)p < sizeof(phase_texts) / sizeof(phase_texts[0]) ? phase_texts[p] : NULL;
}

const char *tp_flash_phase_name(enum tp_flash_phase p)
{
	return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "?";
}

const struct tp_flash_module *tp_flash_module_find(const char *name)
{
	for (size_t i = 0; i < TP_FLASH_MODULES; i++)
		if (!strcmp(tp_flash_modules[i]->name, name))
			return tp_flash_modules[i];
	return NULL;
}

const char *tp_flash_module_names(void)
{
	static char names[64];
	size_t len = 0;

	if (!names[0])
		for (size_t i = 0; i < TP_FLASH_MODULES; i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						i ? ", " : "", tp_flash_modules[i]->name);
	return names;
}

const struct tp_flash_module *tp_flash_module_for(enum tp_family f)
{
	for (size_t i = 0; f != TP_FAMILY_UNKNOWN && i < TP_FLASH_MODULES; i++)
		if (tp_flash_modules[i]->family == f)
			return tp_flash_modules[i];
	return NULL;
}

const struct tp_flash_module *tp_flash_module_by_id(uint16_t vid, uint16_t pid)
{
	for (size_t i = 0; i < TP_FLASH_MODULES; i++) {
		const struct tp_flash_module *m = tp_flash_modules[i];

		for (size_t k = 0; k < m->nids; k++)
			if (m->ids[k].vid == vid && m->ids[k].pid == pid)
				return m;
	}
	return NULL;
}

static bool owns(const struct tp_flash_module *m, const struct tp_flash_mopt *opt)
{
	return opt >= m->opts && opt < m->opts + m->nopts;
}

int tp_flash_opt_set(struct tp_flash_opts *o, const struct tp_flash_module *m,
		     const struct tp_flash_mopt *opt, const char *val)
{
	int rc = m->check_opt ? m->check_opt(opt, val) : 0;
	size_t i;

	if (rc < 0)
		return rc;
	/* A path typed on the command line that is not there is the user's
	 * mistake, said before any slot is looked at; whether what is there
	 * is complete is the module's ready() check. */
	if (opt->names_files && access(val, F_OK) < 0)
		return tp_err_set(-errno, "--%s %s: %s", opt->name, val, strerror(errno));
	for (i = 0; i < o->nmopt && o->mopt[i].opt != opt; i++)
		;
	if (i == TP_FLASH_MOPTS_MAX)
		return tp_err_set(-EINVAL, "too many module options");
	o->mopt[i] = (struct tp_flash_mopt_val){ .opt = opt, .val = val };
	o->nmopt += i == o->nmopt;
	return 0;
}

int tp_flash_opt_parse(struct tp_flash_opts *o, const char *nv)
{
	const char *eq = strchr(nv, '=');
	size_t n = eq ? (size_t)(eq - nv) : 0;
	bool found = false;

	for (size_t i = 0; i < TP_FLASH_MODULES && eq; i++) {
		const struct tp_flash_module *m = tp_flash_modules[i];

		for (size_t j = 0; j < m->nopts; j++)
			if (strlen(m->opts[j].name) == n && !strncmp(m->opts[j].name, nv, n)) {
				int rc = tp_flash_opt_set(o, m, &m->opts[j], eq + 1);

				if (rc < 0)
					return rc;
				found = true;
			}
	}
	return found ? 0 : tp_err_set(-EINVAL, "--flash-opt %s: no module has that option", nv);
}

void tp_flash_mopts_copy(struct tp_flash_opts *o, const struct tp_flash_opts *from)
{
	memcpy(o->mopt, from->mopt, sizeof(o->mopt));
	o->nmopt = from->nmopt;
}

const char *tp_flash_opt(const struct tp_flash_opts *o, const struct tp_flash_mopt *opt)
{
	for (size_t i = 0; i < o->nmopt; i++)
		if (o->mopt[i].opt == opt)
			return o->mopt[i].val;
	return NULL;
}

bool tp_flash_files_named(const struct tp_flash_opts *o, const struct tp_flash_module *m)
{
	for (size_t i = 0; i < o->nmopt; i++)
		if (owns(m, o->mopt[i].opt) && o->mopt[i].opt->names_files)
			return true;
	return false;
}
