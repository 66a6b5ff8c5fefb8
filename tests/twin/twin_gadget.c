// SPDX-License-Identifier: MIT
/*
 * The BMC kernel's USB gadget configfs (usb_gadget/), as Linux 6.8 answers
 * it: gadgets, their functions, configurations and the UDC binding
 * (drivers/usb/gadget/configfs.c); the mass-storage function's LUNs are
 * twin_gadget_lun.c's.
 * At start the gadget g1 stands as /etc/init.d/S11bmc-otg leaves it.
 * tpkit exports a node's disk as a LUN of this gadget, as bmcd does; the
 * twin checks each step against the kernel's rules, and records the
 * binding and the LUN's medium on the timeline (docs/twin.md, "The BMC's
 * USB gadget (configfs)").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin_configfs.h"

/* The BMC's one UDC, the T113's musb (its usual name there: inferred). */
#define GADGET_UDC		"musb-hdrc.1.auto"
#define GADGET_SERIAL		"TP2TWIN00000001"	/* the twin's DT serial */
#define GADGET_NAME_MAX		40	/* configfs.c MAX_NAME_LEN */
#define GADGET_STRING_MAX	126	/* USB_MAX_STRING_LEN */
#define GADGET_PORTS		8	/* u_serial MAX_U_SERIAL_PORTS */

/* A violation on the timeline: what a correct client never does. */
void twin_gadget_refuse(struct twin *t, struct twin_cfs_node *n, const char *fmt, ...)
{
	char *path = twin_cfs_path(n), *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	twin_timeline_violation(t, "configfs", "%s: %s", path, msg);
	g_free(msg);
	g_free(path);
}

/* The gadget directory (usb_gadget/NAME) above N. */
struct twin_cfs_node *twin_gadget_of(struct twin_cfs_node *n)
{
	while (n->parent && n->parent->parent && n->parent->parent->parent)
		n = n->parent;
	return n;
}

/* kstrtou8 in base 0, as the kernel reads a number in a name. */
bool twin_gadget_u8(const char *s, unsigned long *out)
{
	char *end;

	if (!g_ascii_isdigit(*s))
		return false;
	*out = strtoul(s, &end, 0);
	return !*end && *out <= 0xff;
}

bool twin_gadget_bound(struct twin_cfs_node *g)
{
	return *twin_cfs_get(g, "UDC");
}

/* ---- functions ------------------------------------------------------- */

/* f_mass_storage's stall cannot change while the function is in use. */
static int gadget_func_unused(struct twin *t, struct twin_cfs_node *func, const char *val)
{
	(void)t;
	(void)val;
	return func->links ? -EBUSY : 0;
}

static const struct twin_cfs_attr gadget_msd_attrs[] = {
	{ "stall", 0644, TWIN_CFS_BOOL, "1", gadget_func_unused, NULL },
	{ NULL },
};
static const struct twin_cfs_attr gadget_serial_attrs[] = {	/* acm, gser */
	{ "port_num", 0444, TWIN_CFS_U8, NULL, NULL, NULL },
	{ NULL },
};
static const struct twin_cfs_attr gadget_rndis_attrs[] = {
	{ "dev_addr", 0644, TWIN_CFS_STR, "02:74:70:32:00:10", gadget_func_unused, NULL },
	{ "host_addr", 0644, TWIN_CFS_STR, "02:74:70:32:00:11", gadget_func_unused, NULL },
	{ "qmult", 0644, TWIN_CFS_U8, "5", gadget_func_unused, NULL },
	{ "ifname", 0444, TWIN_CFS_STR, "(unnamed net_device)", NULL, NULL },
	{ NULL },
};
static const struct twin_cfs_attr gadget_hid_attrs[] = {
	{ "protocol", 0644, TWIN_CFS_U8, "0", gadget_func_unused, NULL },
	{ "subclass", 0644, TWIN_CFS_U8, "0", gadget_func_unused, NULL },
	{ "report_length", 0644, TWIN_CFS_U16, "0", gadget_func_unused, NULL },
	{ "report_desc", 0644, TWIN_CFS_RAW, NULL, gadget_func_unused, NULL },
	{ NULL },
};
static const struct twin_cfs_attr gadget_no_attrs[] = { { NULL } };

/* The function drivers the BMC kernel has (usb_get_function_instance). */
static const struct {
	const char *name;
	const struct twin_cfs_attr *attrs;
} gadget_types[] = {
	{ "acm", gadget_serial_attrs }, { "gser", gadget_serial_attrs },
	{ "rndis", gadget_rndis_attrs }, { "mass_storage", gadget_msd_attrs },
	{ "ffs", gadget_no_attrs }, { "hid", gadget_hid_attrs },
};

/* gserial_alloc_line: the lowest ttyGS port no acm or gser holds. */
static int gadget_serial_port(struct twin *t)
{
	struct twin_cfs_node *ug = twin_cfs_child(twin_cfs_root(t), "usb_gadget");
	unsigned used = 0;

	for (guint g = 0; g < ug->children->len; g++) {
		struct twin_cfs_node *fs = twin_cfs_child(g_ptr_array_index(ug->children, g),
							  "functions");

		for (guint i = 0; i < fs->children->len; i++) {
			struct twin_cfs_node *f = g_ptr_array_index(fs->children, i);
			struct twin_cfs_node *p = twin_cfs_child(f, "port_num");

			if (p)
				used |= 1u << atoi(p->value);
		}
	}
	for (int n = 0; n < GADGET_PORTS; n++)
		if (!(used & 1u << n))
			return n;
	return -ENODEV;
}

/* function_make: TYPE.INSTANCE of a driver the kernel has. */
static int gadget_func_make(struct twin *t, struct twin_cfs_node *dir, const char *name)
{
	const char *dot = strchr(name, '.');
	struct twin_cfs_node *f;
	char port[4];
	int n = 0;

	if (strlen(name) >= GADGET_NAME_MAX) {
		twin_gadget_refuse(t, dir, "mkdir %s: name longer than %d", name, GADGET_NAME_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (!dot) {
		twin_gadget_refuse(t, dir, "mkdir %s: no '.' in TYPE.INSTANCE", name);
		return -EINVAL;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(gadget_types); i++) {
		if (strncmp(name, gadget_types[i].name, (size_t)(dot - name)) ||
		    gadget_types[i].name[dot - name])
			continue;
		if (gadget_types[i].attrs == gadget_serial_attrs && (n = gadget_serial_port(t)) < 0)
			return n;
		f = twin_cfs_dir(t, dir, name, false,
				 gadget_types[i].attrs == gadget_msd_attrs ? &twin_lun_ops : NULL);
		twin_cfs_attrs(t, f, gadget_types[i].attrs);
		if (gadget_types[i].attrs == gadget_msd_attrs)
			twin_lun_new(t, f, "lun.0", true);	/* fsg_alloc_inst */
		if (gadget_types[i].attrs == gadget_serial_attrs) {
			snprintf(port, sizeof(port), "%d", n);
			twin_cfs_set(f, "port_num", port);
		}
		return 0;
	}
	twin_gadget_refuse(t, dir, "mkdir %s: no function driver %.*s in the BMC kernel",
		      name, (int)(dot - name), name);
	return -ENOENT;
}

/* function_drop: the instance goes, and a mass storage's files close. */
static void gadget_func_drop(struct twin *t, struct twin_cfs_node *func)
{
	for (guint i = 0; i < func->children->len; i++) {
		struct twin_cfs_node *c = g_ptr_array_index(func->children, i);

		if (c->kind == TWIN_CFS_DIR && c->obj)
			twin_lun_close(t, c);
	}
}

static const struct twin_cfs_ops gadget_functions_ops = {
	.make = gadget_func_make,
	.drop = gadget_func_drop,
};

/* ---- strings, configurations ----------------------------------------- */

static int gadget_string_len(struct twin *t, struct twin_cfs_node *dir, const char *val)
{
	if (strlen(val) <= GADGET_STRING_MAX)
		return 0;
	twin_gadget_refuse(t, dir, "a string longer than %d", GADGET_STRING_MAX);
	return -EINVAL;
}

static const struct twin_cfs_attr gadget_dev_strings[] = {
	{ "manufacturer", 0644, TWIN_CFS_STR, NULL, gadget_string_len, NULL },
	{ "product", 0644, TWIN_CFS_STR, NULL, gadget_string_len, NULL },
	{ "serialnumber", 0644, TWIN_CFS_STR, NULL, gadget_string_len, NULL },
	{ NULL },
};
static const struct twin_cfs_attr gadget_cfg_strings[] = {
	{ "configuration", 0644, TWIN_CFS_STR, NULL, gadget_string_len, NULL },
	{ NULL },
};

/* A language: a number (0x409), one directory each. */
static int gadget_lang_make(struct twin *t, struct twin_cfs_node *dir, const char *name)
{
	bool cfg = !strcmp(dir->parent->parent->name, "configs");
	char *end;
	unsigned long lang = strtoul(name, &end, 0);

	if (*end || !lang || lang > 0xffff) {
		twin_gadget_refuse(t, dir, "mkdir %s: not a language id", name);
		return -EINVAL;
	}
	for (guint i = 0; i < dir->children->len; i++)
		if (strtoul(((struct twin_cfs_node *)g_ptr_array_index(dir->children, i))->name,
			    NULL, 0) == lang)
			return -EEXIST;
	twin_cfs_attrs(t, twin_cfs_dir(t, dir, name, false, NULL),
		       cfg ? gadget_cfg_strings : gadget_dev_strings);
	return 0;
}

static const struct twin_cfs_ops gadget_strings_ops = { .make = gadget_lang_make };

/* config_usb_cfg_link: a function of this gadget, once, and not while the
 * gadget is bound (Linux 89e7252d6c7e). */
static int gadget_cfg_link(struct twin *t, struct twin_cfs_node *cfg,
			   struct twin_cfs_node *target)
{
	struct twin_cfs_node *g = twin_gadget_of(cfg);

	if (target->parent != twin_cfs_child(g, "functions")) {
		char *p = twin_cfs_path(target);

		twin_gadget_refuse(t, cfg, "link to %s: not a function of %s", p, g->name);
		g_free(p);
		return -EINVAL;
	}
	for (guint i = 0; i < cfg->children->len; i++)
		if (((struct twin_cfs_node *)g_ptr_array_index(cfg->children, i))->target == target)
			return -EEXIST;
	if (twin_gadget_bound(g)) {
		twin_gadget_refuse(t, cfg, "link to %s while bound to %s", target->name,
			      twin_cfs_get(g, "UDC"));
		return -EINVAL;
	}
	return 0;
}

/* config_usb_cfg_unlink: unregister_gadget first. */
static void gadget_cfg_unlink(struct twin *t, struct twin_cfs_node *cfg,
			      struct twin_cfs_node *target)
{
	(void)target;
	twin_gadget_unbind(t, twin_gadget_of(cfg));
}

static const struct twin_cfs_ops gadget_cfg_ops = {
	.allow_link = gadget_cfg_link,
	.drop_link = gadget_cfg_unlink,
};

static int gadget_max_power(struct twin *t, struct twin_cfs_node *cfg, const char *val)
{
	(void)t;
	(void)cfg;
	return (atoi(val) + 7) / 8 > 0xff ? -ERANGE : 0;
}

/* bmAttributes: bit 7 set, nothing beyond self-powered and wakeup. */
static int gadget_bm_attributes(struct twin *t, struct twin_cfs_node *cfg, const char *val)
{
	unsigned long v = strtoul(val, NULL, 16);

	if (v & 0x80 && !(v & ~0xe0ul))
		return 0;
	twin_gadget_refuse(t, cfg, "bmAttributes %s: bit 7 must be set, bits 0-4 clear", val);
	return -EINVAL;
}

static const struct twin_cfs_attr gadget_cfg_attrs[] = {
	{ "MaxPower", 0644, TWIN_CFS_U16, "2", gadget_max_power, NULL },	/* VBUS_DRAW */
	{ "bmAttributes", 0644, TWIN_CFS_HEX8, "0x80", gadget_bm_attributes, NULL },
	{ NULL },
};

/* config_desc_make: LABEL.N, N a bConfigurationValue not yet taken. */
static int gadget_cfg_make(struct twin *t, struct twin_cfs_node *dir, const char *name)
{
	const char *dot = strchr(name, '.');
	struct twin_cfs_node *c;
	unsigned long n;

	if (!dot || dot == name || !twin_gadget_u8(dot + 1, &n)) {
		twin_gadget_refuse(t, dir, "mkdir %s: not LABEL.N (N 0..255)", name);
		return -EINVAL;
	}
	for (guint i = 0; i < dir->children->len; i++) {
		const char *o = strchr(((struct twin_cfs_node *)g_ptr_array_index(dir->children, i))->name, '.');

		if (strtoul(o + 1, NULL, 0) == n)
			return -EBUSY;	/* usb_add_config_only */
	}
	c = twin_cfs_dir(t, dir, name, false, &gadget_cfg_ops);
	twin_cfs_attrs(t, c, gadget_cfg_attrs);
	twin_cfs_dir(t, c, "strings", true, &gadget_strings_ops);
	return 0;
}

static const struct twin_cfs_ops gadget_configs_ops = { .make = gadget_cfg_make };

/* ---- the gadget and its UDC ------------------------------------------ */

/* The UDC's own sysfs entry tells which gadget holds it (udc/function). */
static void gadget_udc_function(struct twin *t, const char *gadget)
{
	char *path = g_build_filename(t->root, "sys/class/udc", GADGET_UDC, "function", NULL);

	if (!g_file_set_contents(path, gadget, -1, NULL))
		fprintf(stderr, "tp-twin: cannot write %s\n", path);
	g_free(path);
}

/* unregister_gadget, with its event. */
void twin_gadget_unbind(struct twin *t, struct twin_cfs_node *g)
{
	if (!twin_gadget_bound(g))
		return;
	twin_timeline_add(t, "gadget", g->name, twin_cfs_get(g, "UDC"), "unbound", NULL);
	twin_cfs_set(g, "UDC", "");
	gadget_udc_function(t, "");
}

/*
 * gadget_dev_desc_UDC_store. The driver core swallows a failed bind: on 6.x
 * userspace sees EBUSY for an unknown or taken UDC and for a configuration
 * the composite bind refuses (none, or one without functions) alike.
 */
static int gadget_udc_store(struct twin *t, struct twin_cfs_node *g, const char *val)
{
	struct twin_cfs_node *ug = g->parent, *configs = twin_cfs_child(g, "configs");
	GString *note;

	if (!*val) {
		if (!twin_gadget_bound(g))
			return -ENODEV;
		twin_gadget_unbind(t, g);
		return 0;
	}
	if (twin_gadget_bound(g))
		return -EBUSY;
	if (strcmp(val, GADGET_UDC)) {
		twin_gadget_refuse(t, g, "UDC %s: /sys/class/udc has only %s", val, GADGET_UDC);
		return -EBUSY;
	}
	for (guint i = 0; i < ug->children->len; i++)
		if (twin_gadget_bound(g_ptr_array_index(ug->children, i)))
			return -EBUSY;	/* another gadget holds it */
	if (!configs->children->len) {
		twin_gadget_refuse(t, g, "bind with no configuration");
		return -EBUSY;
	}
	note = g_string_new(NULL);
	for (guint i = 0; i < configs->children->len; i++) {
		struct twin_cfs_node *c = g_ptr_array_index(configs->children, i);
		unsigned nf = 0;

		for (guint j = 0; j < c->children->len; j++) {
			struct twin_cfs_node *l = g_ptr_array_index(c->children, j);

			if (l->kind != TWIN_CFS_LINK)
				continue;
			nf++;
			if (!strstr(note->str, l->target->name))
				g_string_append_printf(note, "%s%s", note->len ? " " : "",
						       l->target->name);
		}
		if (!nf) {
			twin_gadget_refuse(t, g, "bind: configuration %s has no function", c->name);
			g_string_free(note, TRUE);
			return -EBUSY;
		}
	}
	twin_timeline_add(t, "gadget", g->name, "unbound", val, note->str);
	g_string_free(note, TRUE);
	gadget_udc_function(t, g->name);
	return 0;
}

/* bcdDevice, bcdUSB: binary-coded decimal (is_valid_bcd). */
static int gadget_bcd(struct twin *t, struct twin_cfs_node *g, const char *val)
{
	for (const char *p = val + 2; *p; p++)
		if (*p > '9') {
			twin_gadget_refuse(t, g, "%s is not binary-coded decimal", val);
			return -EINVAL;
		}
	return 0;
}

static int gadget_max_speed(struct twin *t, struct twin_cfs_node *g, const char *val)
{
	static const char *const speeds[] = {
		"super-speed-plus", "super-speed", "high-speed", "full-speed", "low-speed",
	};

	if (twin_gadget_bound(g))
		return -EBUSY;
	for (size_t i = 0; i < G_N_ELEMENTS(speeds); i++)
		if (!strcmp(val, speeds[i]))
			return 0;
	twin_gadget_refuse(t, g, "max_speed %s: no such speed", val);
	return -EINVAL;
}

static const struct twin_cfs_attr gadget_attrs[] = {
	{ "UDC", 0644, TWIN_CFS_STR, NULL, gadget_udc_store, NULL },
	{ "bDeviceClass", 0644, TWIN_CFS_HEX8, "0x00", NULL, NULL },
	{ "bDeviceProtocol", 0644, TWIN_CFS_HEX8, "0x00", NULL, NULL },
	{ "bDeviceSubClass", 0644, TWIN_CFS_HEX8, "0x00", NULL, NULL },
	{ "bMaxPacketSize0", 0644, TWIN_CFS_HEX8, "0x00", NULL, NULL },
	{ "bcdDevice", 0644, TWIN_CFS_HEX16, "0x0608", gadget_bcd, NULL },	/* Linux 6.8 */
	{ "bcdUSB", 0644, TWIN_CFS_HEX16, "0x0200", gadget_bcd, NULL },
	{ "idProduct", 0644, TWIN_CFS_HEX16, "0x0000", NULL, NULL },
	{ "idVendor", 0644, TWIN_CFS_HEX16, "0x0000", NULL, NULL },
	{ "max_speed", 0644, TWIN_CFS_STR, "super-speed-plus", gadget_max_speed, NULL },
	{ NULL },
};
static const struct twin_cfs_attr gadget_os_desc_attrs[] = {
	{ "use", 0644, TWIN_CFS_BOOL, "0", NULL, NULL },
	{ "b_vendor_code", 0644, TWIN_CFS_HEX8, "0x00", NULL, NULL },
	{ "qw_sign", 0644, TWIN_CFS_STR, NULL, NULL, NULL },
	{ NULL },
};

/* gadgets_make: the gadget's attributes and its default groups. */
static int gadget_make(struct twin *t, struct twin_cfs_node *dir, const char *name)
{
	struct twin_cfs_node *g = twin_cfs_dir(t, dir, name, false, NULL);

	twin_cfs_attrs(t, g, gadget_attrs);
	twin_cfs_dir(t, g, "functions", true, &gadget_functions_ops);
	twin_cfs_dir(t, g, "configs", true, &gadget_configs_ops);
	twin_cfs_dir(t, g, "strings", true, &gadget_strings_ops);
	twin_cfs_attrs(t, twin_cfs_dir(t, g, "os_desc", true, NULL), gadget_os_desc_attrs);
	return 0;
}

/* gadgets_drop: unbound first. */
static void gadget_drop(struct twin *t, struct twin_cfs_node *g)
{
	twin_gadget_unbind(t, g);
}

static const struct twin_cfs_ops gadget_subsys_ops = {
	.make = gadget_make,
	.drop = gadget_drop,
};

/* What S11bmc-otg does at boot: g1 with one serial console function. */
static int gadget_boot(struct twin *t, struct twin_cfs_node *ug)
{
	struct twin_cfs_node *g, *s, *c;

	gadget_make(t, ug, "g1");
	g = twin_cfs_child(ug, "g1");
	twin_cfs_set(g, "idVendor", "0x08de");
	twin_cfs_set(g, "idProduct", "0x1234");
	gadget_lang_make(t, twin_cfs_child(g, "strings"), "0x409");
	s = twin_cfs_child(twin_cfs_child(g, "strings"), "0x409");
	twin_cfs_set(s, "manufacturer", "Turing Machines, Inc");
	twin_cfs_set(s, "product", t->opt.no_model ? "" : twin_root_model(t));
	twin_cfs_set(s, "serialnumber", GADGET_SERIAL);
	gadget_cfg_make(t, twin_cfs_child(g, "configs"), "c.1");
	c = twin_cfs_child(twin_cfs_child(g, "configs"), "c.1");
	gadget_lang_make(t, twin_cfs_child(c, "strings"), "0x409");
	if (gadget_func_make(t, twin_cfs_child(g, "functions"), "acm.usb0") ||
	    twin_cfs_link(t, c, "acm.usb0", twin_cfs_child(twin_cfs_child(g, "functions"), "acm.usb0")))
		return -EIO;
	if (t->opt.otg_gadget == TWIN_OTG_BOUND) {
		twin_cfs_set(g, "UDC", GADGET_UDC);
		gadget_udc_function(t, "g1");
	}
	return 0;
}

int twin_gadget_init(struct twin *t, struct twin_cfs_node *root)
{
	char *udc = g_build_filename(t->root, "sys/class/udc", GADGET_UDC, NULL);
	char *state = g_build_filename(udc, "state", NULL);
	int rc = 0;

	/* The UDC is there whatever S11bmc-otg did; no host on the OTG port. */
	if (g_mkdir_with_parents(udc, 0755) ||
	    !g_file_set_contents(state, "not attached\n", -1, NULL)) {
		fprintf(stderr, "tp-twin: cannot make %s\n", udc);
		rc = -EIO;
	}
	if (!rc)
		gadget_udc_function(t, "");
	if (!rc && t->opt.otg_gadget != TWIN_OTG_NONE)
		rc = gadget_boot(t, twin_cfs_dir(t, root, "usb_gadget", true, &gadget_subsys_ops));
	g_free(state);
	g_free(udc);
	return rc;
}
