// SPDX-License-Identifier: MIT
/*
 * The board model: GPIO lines per revision and who holds them, the
 * regulators and the ATX supply, and what follows from them (slot power,
 * USB links), on a virtual clock. Facts are from docs/hardware.md §3-§6;
 * the twin follows the hardware, never what a particular client expects.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "twin.h"
#include "twin_usb.h"

/* Regulator start-up delays the kernel waits for (hardware.md §4). */
#define TWIN_RAMP_ATX_NS	(250 * TWIN_NS_PER_MS)
#define TWIN_RAMP_SLOT_NS	(100 * TWIN_NS_PER_MS)
#define TWIN_RAMP_VBUS_NS	(5 * TWIN_NS_PER_MS)

#define PIN(bank, n)		((unsigned)((bank) - 'A') * 32 + (n))

/* SoC pins outside port D that kernel drivers request from the DT
 * (hardware.md §3.2-§3.4); userspace gets EBUSY on them, as on a board. */
struct twin_kernel_pin {
	unsigned offset;
	bool output;
	bool v24;		/* held on v2.4 */
	bool v25;		/* held on v2.5 and later */
};

static const struct twin_kernel_pin twin_kernel_pins[] = {
	{ PIN('G', 8), true, true, true },	/* fp::power LED */
	{ PIN('G', 9), true, true, true },	/* fp::status LED */
	{ PIN('G', 10), false, true, true },	/* fp:power button */
	{ PIN('G', 11), false, true, true },	/* fp:reset button */
	{ PIN('G', 15), false, true, true },	/* KEY1 */
	{ PIN('F', 6), false, true, true },	/* microSD card detect */
	{ PIN('E', 10), true, true, true },	/* RTL8201F PHY reset */
	{ PIN('G', 4), true, true, false },	/* v2.4 usb-port-vbus regulator */
	{ PIN('G', 12), true, true, false },	/* v2.4 usb-otg-vbus regulator */
	{ PIN('G', 13), true, true, false },	/* v2.4 switch reset */
	{ PIN('G', 3), true, false, true },	/* v2.5 switch reset */
};

/* Aggregator line names in offset order (hardware.md §3.2, §3.3). */
static const char *const twin_names_v24[] = {
	"node1-en", "node1-rst", "node1-usbotg-dev", "node1-rpiboot",
	"node2-en", "node2-rst", "node2-usbotg-dev", "node2-rpiboot",
	"node3-en", "node3-rst", "node3-usbotg-dev", "node3-rpiboot",
	"node4-en", "node4-rst", "node4-usbotg-dev", "node4-rpiboot",
};

static const char *const twin_names_v25[] = {
	"node1-en", "node1-usbotg-dev", "node1-rpiboot",
	"node2-en", "node2-rpiboot", "node3-en", "node3-rpiboot",
	"node4-en", "node4-rpiboot",
};

const char *twin_board_rev_name(enum twin_rev rev)
{
	static const char *const names[] = { "2.4", "2.5", "2.5.1", "2.5.2" };

	return names[rev];
}

const char *twin_board_module_name(enum twin_module m)
{
	static const char *const names[] = { "empty", "rk1", "cm4" };

	return names[m];
}

static bool twin_board_is_v24(struct twin *t)
{
	return t->opt.rev == TWIN_REV_2_4;
}

static struct twin_line *twin_board_pin(struct twin *t, char bank, unsigned n)
{
	return &t->board.chips[0].lines[PIN(bank, n)];
}

static void twin_board_chip_add(struct twin *t, unsigned nlines,
				const char *const *names, const char *prefix)
{
	struct twin_board *b = &t->board;
	struct twin_chip *c = &b->chips[b->nchips];

	snprintf(c->name, sizeof(c->name), "gpiochip%u", b->nchips);
	c->nlines = nlines;
	c->lines = g_new0(struct twin_line, nlines);
	for (unsigned i = 0; i < nlines; i++) {
		struct twin_line *l = &c->lines[i];

		l->chip = b->nchips;
		l->offset = i;
		if (names) {
			g_strlcpy(l->subject, names[i], sizeof(l->subject));
			l->named = true;
		} else if (!prefix) {
			snprintf(l->subject, sizeof(l->subject), "P%c%u",
				 'A' + i / 32, i % 32);
		} else {
			snprintf(l->subject, sizeof(l->subject), "%s%u",
				 prefix, i);
		}
	}
	b->nchips++;
}

static void twin_board_kernel_hold(struct twin_line *l, bool output)
{
	l->holder = g_strdup("kernel");
	l->output = output;
}

static void twin_board_lines_init(struct twin *t)
{
	struct twin_board *b = &t->board;
	bool v24 = twin_board_is_v24(t);

	twin_board_chip_add(t, TWIN_SOC_LINES, NULL, NULL);
	/* Port D carries the aggregator, latch, regulator and fan pins; the
	 * kernel owns all of it (hardware.md §3.3: never drive port D). */
	for (unsigned i = 0; i < 32; i++)
		twin_board_kernel_hold(twin_board_pin(t, 'D', i), true);
	for (size_t i = 0; i < G_N_ELEMENTS(twin_kernel_pins); i++) {
		const struct twin_kernel_pin *k = &twin_kernel_pins[i];

		if (v24 ? k->v24 : k->v25)
			twin_board_kernel_hold(&b->chips[0].lines[k->offset],
					       k->output);
	}

	if (!v24) {
		/* The latch's outputs all belong to regulators and to the
		 * aggregator (hardware.md §3.3). */
		twin_board_chip_add(t, 9, NULL, "latch");
		for (unsigned i = 0; i < 9; i++)
			twin_board_kernel_hold(&b->chips[1].lines[i], true);
		twin_board_chip_add(t, G_N_ELEMENTS(twin_names_v25),
				    twin_names_v25, NULL);
	} else {
		twin_board_chip_add(t, G_N_ELEMENTS(twin_names_v24),
				    twin_names_v24, NULL);
	}

	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		char name[32];

		snprintf(name, sizeof(name), "node%u-en", n);
		b->en[n] = twin_board_line_find(t, name);
		snprintf(name, sizeof(name), "node%u-rpiboot", n);
		b->rpiboot[n] = twin_board_line_find(t, name);
		snprintf(name, sizeof(name), "node%u-usbotg-dev", n);
		b->usbotg[n] = twin_board_line_find(t, name);
	}
}

struct twin_line *twin_board_line_find(struct twin *t, const char *name)
{
	for (unsigned c = 0; c < t->board.nchips; c++) {
		struct twin_chip *chip = &t->board.chips[c];

		for (unsigned i = 0; i < chip->nlines; i++)
			if (chip->lines[i].named &&
			    !strcmp(chip->lines[i].subject, name))
				return &chip->lines[i];
	}
	return NULL;
}

/* A line name, or a SoC pin such as "PG5" (the form --hold takes). */
struct twin_line *twin_board_line_parse(struct twin *t, const char *spec)
{
	struct twin_line *l = twin_board_line_find(t, spec);
	char *end;
	unsigned long n;

	if (l)
		return l;
	if (spec[0] != 'P' || spec[1] < 'A' || spec[1] > 'G' ||
	    !g_ascii_isdigit(spec[2]))
		return NULL;
	n = strtoul(spec + 2, &end, 10);
	if (*end || n > 31)
		return NULL;
	return twin_board_pin(t, spec[1], (unsigned)n);
}

int twin_board_line_get(struct twin *t, const char *chip, uint64_t offset,
			struct twin_line **out)
{
	for (unsigned c = 0; c < t->board.nchips; c++) {
		struct twin_chip *ch = &t->board.chips[c];

		if (strcmp(ch->name, chip))
			continue;
		if (offset >= ch->nlines)
			return -ERANGE;
		*out = &ch->lines[offset];
		return 0;
	}
	return -ENODEV;
}

static bool twin_board_pg(struct twin *t, unsigned n)
{
	return twin_board_pin(t, 'G', n)->value;
}

/* hardware.md §6.2: the mux lines as [PG1, PG2, PG0, PG3]. */
static unsigned twin_board_mux_node(struct twin *t)
{
	static const unsigned char pattern[TWIN_SLOTS + 1][4] = {
		{ 0 }, { 0, 0, 1, 1 }, { 1, 0, 1, 1 }, { 1, 1, 0, 0 },
		{ 1, 1, 1, 0 },
	};
	unsigned char now[4] = {
		twin_board_pg(t, 1), twin_board_pg(t, 2),
		twin_board_pg(t, 0), twin_board_pg(t, 3),
	};

	for (unsigned n = 1; n <= TWIN_SLOTS; n++)
		if (!memcmp(now, pattern[n], sizeof(now)))
			return n;
	return 0;
}

static void twin_board_usb_link(struct twin *t, unsigned n, char *buf,
				size_t len)
{
	const char *link, *role;

	if (twin_board_is_v24(t)) {
		if (twin_board_mux_node(t) != n)
			link = "none";
		else
			link = twin_board_pg(t, 5) ? "bmc" : "usb-a";
		role = t->board.usbotg[n]->value ? "device" : "host";
	} else {
		/* hardware.md §6.3: every node is a device on the hub. */
		if (n == 1 && twin_board_pg(t, 0) && twin_board_pg(t, 1))
			link = "usb-a";
		else
			link = twin_board_pg(t, 2) ? "bmc" : "usb-c";
		role = "device";
	}
	snprintf(buf, len, "%s/%s", link, role);
}

static bool twin_board_slot_power(struct twin *t, unsigned n)
{
	return t->board.regs[n].enabled && t->board.en[n]->value;
}

/* Recompute what follows from lines and regulators; with emit, record
 * every difference from what was last reported. */
static void twin_board_update(struct twin *t, bool emit)
{
	struct twin_board *b = &t->board;

	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		bool on = twin_board_slot_power(t, n);
		char subject[8];

		if (emit && on != b->slot_on[n]) {
			snprintf(subject, sizeof(subject), "%u", n);
			twin_timeline_add(t, "slot", subject,
					  b->slot_on[n] ? "on" : "off",
					  on ? "on" : "off",
					  twin_board_module_name(t->opt.module[n]));
		}
		b->slot_on[n] = on;
	}
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		char link[sizeof(b->usb[0])];
		char subject[8];

		twin_board_usb_link(t, n, link, sizeof(link));
		if (emit && strcmp(link, b->usb[n])) {
			snprintf(subject, sizeof(subject), "node%u", n);
			twin_timeline_add(t, "usb", subject, b->usb[n], link,
					  NULL);
		}
		memcpy(b->usb[n], link, sizeof(link));
	}
	/* Modules react to power and links (a maskrom appears...). */
	if (emit)
		twin_usb_board_changed(t);
}

int twin_board_line_set(struct twin *t, struct twin_line *l, int value)
{
	l->output = true;
	l->driven = true;
	if (l->value == value)
		return 0;
	twin_timeline_add(t, "gpio", l->subject, l->value ? "1" : "0",
			  value ? "1" : "0", NULL);
	l->value = value;
	twin_board_update(t, true);
	return 0;
}

int twin_board_clock_advance(struct twin *t, uint64_t ns)
{
	if (ns > UINT64_MAX - t->board.now_ns)
		return -EOVERFLOW;
	/* Events due on the way (twin_sched.c) run at their own time. */
	return twin_sched_run_until(t, t->board.now_ns + ns);
}

static bool twin_board_any_slot_enabled(struct twin *t)
{
	for (unsigned n = 1; n <= TWIN_SLOTS; n++)
		if (t->board.regs[n].enabled)
			return true;
	return false;
}

/*
 * What the regulator framework does for one state write. Events carry the
 * time of the write; the clock then moves by the start-up delays, which
 * the kernel spends inside the write() call.
 */
int twin_board_reg_set(struct twin *t, struct twin_reg *r, bool enabled)
{
	struct twin_board *b = &t->board;
	uint64_t ramp;
	const char *note;
	bool atx_was_on = b->atx;

	if (r->enabled == enabled)
		return 0;	/* userspace-consumer: nothing to do */

	if (!enabled) {
		twin_timeline_add(t, "reg", r->name, "enabled", "disabled",
				  NULL);
		r->enabled = false;
		twin_board_update(t, true);
		/* atx-psu is every slot's vin-supply: it drops with the
		 * last consumer. */
		if (r->slot && b->atx && !twin_board_any_slot_enabled(t)) {
			b->atx = false;
			twin_timeline_add(t, "reg", "atx-psu", "enabled",
					  "disabled", NULL);
		}
		return 0;
	}

	if (!r->slot) {
		ramp = TWIN_RAMP_VBUS_NS;
		note = "+5 ms";
	} else if (!atx_was_on) {
		ramp = TWIN_RAMP_ATX_NS + TWIN_RAMP_SLOT_NS;
		note = "atx-psu +250 ms, slot +100 ms";
	} else {
		ramp = TWIN_RAMP_SLOT_NS;
		note = "slot +100 ms";
	}
	twin_timeline_add(t, "reg", r->name, "disabled", "enabled", note);
	r->enabled = true;
	if (r->slot && !atx_was_on) {
		b->atx = true;
		twin_timeline_add(t, "reg", "atx-psu", "disabled", "enabled",
				  NULL);
	}
	twin_board_update(t, true);
	return twin_board_clock_advance(t, ramp);
}

static int twin_board_holds_init(struct twin *t)
{
	for (guint i = 0; i < t->opt.holds->len; i++) {
		const char *arg = g_ptr_array_index(t->opt.holds, i);
		const char *eq = strchr(arg, '=');
		char *name;
		struct twin_line *l;

		if (!eq || eq == arg || !eq[1]) {
			fprintf(stderr, "tp-twin: --hold %s: expected LINE=CONSUMER\n",
				arg);
			return -EINVAL;
		}
		name = g_strndup(arg, (gsize)(eq - arg));
		l = twin_board_line_parse(t, name);
		g_free(name);
		if (!l) {
			fprintf(stderr, "tp-twin: --hold %s: no such line on v%s\n",
				arg, twin_board_rev_name(t->opt.rev));
			return -EINVAL;
		}
		if (l->holder) {
			fprintf(stderr, "tp-twin: --hold %s: line already held by %s\n",
				arg, l->holder);
			return -EINVAL;
		}
		/* Held the way bmcd holds its lines: as outputs. */
		l->holder = g_strdup(eq + 1);
		l->output = true;
	}
	return 0;
}

static int twin_board_faults_init(struct twin *t)
{
	for (guint i = 0; i < t->opt.fail_sets->len; i++) {
		const char *arg = g_ptr_array_index(t->opt.fail_sets, i);
		struct twin_line *l = twin_board_line_parse(t, arg);

		if (!l || (l->holder && !strcmp(l->holder, "kernel"))) {
			fprintf(stderr, "tp-twin: --fail-set %s: %s on v%s\n",
				arg, l ? "line held by the kernel" : "no such line",
				twin_board_rev_name(t->opt.rev));
			return -EINVAL;
		}
		l->fail_next_set = true;
	}
	return 0;
}

int twin_board_init(struct twin *t)
{
	struct twin_board *b = &t->board;
	int rc;

	twin_board_lines_init(t);

	for (unsigned n = 0; n <= TWIN_SLOTS; n++) {
		struct twin_reg *r = &b->regs[n];

		r->slot = n;
		r->wd = -1;
		if (n)
			snprintf(r->name, sizeof(r->name), "node%u-power", n);
		else
			g_strlcpy(r->name, "usb-port-power", sizeof(r->name));
		/* usb-port-power is only in the v2.4 DT (hardware.md §4). */
		r->exists = n || twin_board_is_v24(t);
		r->present = r->exists && !(n && t->opt.missing_reg[n]);
		if (n && t->opt.on[n]) {
			/* --on: as if something powered the slot earlier,
			 * in bmcd's order, and released the line. */
			r->enabled = true;
			b->atx = true;
			b->en[n]->value = 1;
			b->en[n]->output = true;
		}
	}

	rc = twin_board_holds_init(t);
	if (!rc)
		rc = twin_board_faults_init(t);
	twin_board_update(t, false);
	return rc;
}

void twin_board_free(struct twin *t)
{
	for (unsigned c = 0; c < t->board.nchips; c++) {
		struct twin_chip *chip = &t->board.chips[c];

		for (unsigned i = 0; i < chip->nlines; i++)
			g_free(chip->lines[i].holder);
		g_free(chip->lines);
	}
	for (unsigned n = 0; n <= TWIN_SLOTS; n++) {
		g_free(t->board.regs[n].dir);
		g_free(t->board.regs[n].path);
	}
}

static const char *twin_board_reg_word(const struct twin_reg *r)
{
	if (!r->present)
		return "missing";
	return r->enabled ? "enabled" : "disabled";
}

/* The board's true state at the end (docs/twin.md, "Final state"). */
int twin_board_state_write(struct twin *t, const char *path)
{
	struct twin_board *b = &t->board;
	GString *s = g_string_new(NULL);
	GError *err = NULL;
	static const unsigned v24_pins[] = { 0, 1, 2, 3, 5 };
	static const unsigned v25_pins[] = { 0, 1, 2 };
	const unsigned *pins = twin_board_is_v24(t) ? v24_pins : v25_pins;
	size_t npins = twin_board_is_v24(t) ? G_N_ELEMENTS(v24_pins) :
					      G_N_ELEMENTS(v25_pins);
	int rc = 0;

	g_string_append_printf(s, "rev %s\n", twin_board_rev_name(t->opt.rev));
	g_string_append_printf(s, "atx-psu %s\n",
			       b->atx ? "enabled" : "disabled");
	if (b->regs[0].exists)
		g_string_append_printf(s, "usb-port-power %s\n",
				       twin_board_reg_word(&b->regs[0]));
	for (unsigned n = 1; n <= TWIN_SLOTS; n++)
		g_string_append_printf(s,
			"slot %u module %s regulator %s en %d power %s strap %d usb %s\n",
			n, twin_board_module_name(t->opt.module[n]),
			twin_board_reg_word(&b->regs[n]), b->en[n]->value,
			b->slot_on[n] ? "on" : "off", b->rpiboot[n]->value,
			b->usb[n]);
	/* The revision's USB routing pins always, then any other SoC pin
	 * the command drove, so a stray write shows up here too. */
	for (size_t i = 0; i < npins; i++)
		g_string_append_printf(s, "pin PG%u %d\n", pins[i],
				       twin_board_pg(t, pins[i]));
	for (unsigned i = 0; i < TWIN_SOC_LINES; i++) {
		struct twin_line *l = &b->chips[0].lines[i];
		bool listed = false;

		for (size_t p = 0; p < npins; p++)
			listed |= i == PIN('G', pins[p]);
		if (l->driven && !listed)
			g_string_append_printf(s, "pin %s %d\n", l->subject,
					       l->value);
	}

	if (!g_file_set_contents(path, s->str, (gssize)s->len, &err)) {
		fprintf(stderr, "tp-twin: cannot write state: %s\n",
			err->message);
		g_error_free(err);
		rc = -EIO;
	}
	g_string_free(s, TRUE);
	return rc;
}
