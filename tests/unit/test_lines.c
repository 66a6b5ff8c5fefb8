// SPDX-License-Identifier: MIT
/*
 * Line sets: all-or-nothing claims and the message for a held line. The
 * backend here is a small in-memory table; what is under test is the line
 * set logic above the backend interface, not a backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "board/turingpi2/board.h"
#include "board/turingpi2/gpio.h"
#include "common/err.h"

struct mline {
	const char *name;
	const char *holder; /* NULL = free */
	int value;
	int requested, sets;
};

static struct mline table[] = {
	{ "node1-en", NULL, 0, 0, 0 },	  { "node2-en", NULL, 1, 0, 0 },
	{ "node3-en", "bmcd", 0, 0, 0 },  { "node4-en", NULL, 0, 0, 0 },
	{ "PG5", NULL, 1, 0, 0 },
};

static struct mline *by_name(const char *n)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, n))
			return &table[i];
	return NULL;
}

static int m_open(struct tp_gpio *g, const char *a) { (void)g, (void)a; return 0; }
static void m_close(struct tp_gpio *g) { (void)g; }

static int m_find(struct tp_gpio *g, struct tp_line *l)
{
	(void)g;
	if (!by_name(l->name))
		return tp_err_set(-ENOENT, "no line %s", l->name);
	snprintf(l->chip, sizeof(l->chip), "gpiochip2");
	l->offset = (unsigned)(by_name(l->name) - table);
	return 0;
}

static int m_request(struct tp_gpio *g, struct tp_line *l, const char *consumer)
{
	/* Raw pins come by offset: map 197 back to PG5. */
	struct mline *m = l->offset == 197 ? by_name("PG5") : by_name(l->name);

	(void)g;
	if (m->holder) {
		snprintf(l->holder, sizeof(l->holder), "%s", m->holder);
		return -EBUSY;
	}
	m->holder = consumer;
	m->requested++;
	l->value = m->value;
	l->priv = m;
	return 0;
}

static int m_get(struct tp_gpio *g, struct tp_line *l, int *v)
{
	(void)g;
	*v = ((struct mline *)l->priv)->value;
	return 0;
}

static int m_set(struct tp_gpio *g, struct tp_line *l, int v)
{
	(void)g;
	((struct mline *)l->priv)->value = v;
	((struct mline *)l->priv)->sets++;
	return 0;
}

static void m_release(struct tp_gpio *g, struct tp_line *l)
{
	(void)g;
	((struct mline *)l->priv)->holder = NULL;
}

static const struct tp_gpio_ops mem_ops = {
	"mem", m_open, m_close, m_find, m_request, m_get, m_set, m_release,
};

static void claim_and_set(void **state)
{
	struct tp_gpio g = { &mem_ops, NULL };
	const char *names[] = { "node1-en", "node2-en", "PG5", "node1-en" };
	struct tp_lines ls;

	(void)state;
	assert_int_equal(tp_lines_claim(&ls, &g, tp_board_desc_get(TP_REV_2_4), names, 4, "tpkit",
					0), 0);
	assert_int_equal(ls.n, 3); /* duplicates are claimed once */
	assert_int_equal(tp_lines_find(&ls, "node2-en")->value, 1);
	assert_string_equal(tp_lines_find(&ls, "PG5")->chip, "gpiochip0");
	assert_int_equal(tp_lines_find(&ls, "PG5")->offset, 197);
	assert_int_equal(tp_lines_set(&ls, "node1-en", 1), 0);
	assert_int_equal(by_name("node1-en")->value, 1);
	assert_int_equal(tp_lines_get(&ls, "node1-en"), 1);
	assert_int_equal(tp_lines_set(&ls, "node4-en", 1), -EPERM);
	tp_lines_release(&ls);
	assert_null(by_name("node1-en")->holder);
	by_name("node1-en")->value = 0;
}

static void held_line_changes_nothing(void **state)
{
	struct tp_gpio g = { &mem_ops, NULL };
	const char *names[] = { "node1-en", "node2-en", "node3-en", "node4-en" };
	struct tp_lines ls;

	(void)state;
	for (size_t i = 0; i < 5; i++)
		table[i].sets = 0;
	assert_int_equal(tp_lines_claim(&ls, &g, tp_board_desc_get(TP_REV_2_5), names, 4, "tpkit",
					0), -EBUSY);
	assert_string_equal(tp_err_msg(),
			    "GPIO line node3-en (gpiochip2 line 2) is held by \"bmcd\"; the stock "
			    "BMC daemon bmcd holds the node lines while it runs: stop it with "
			    "`/etc/init.d/S94bmcd stop` (start it again afterwards), then retry. "
			    "Nothing was changed.");
	/* Lines claimed before the held one were given back; none was set. */
	assert_null(by_name("node1-en")->holder);
	assert_null(by_name("node2-en")->holder);
	assert_int_equal(by_name("node4-en")->requested, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(table[i].sets, 0);

	/* Status tolerates it: the held line is simply not ours. */
	assert_int_equal(tp_lines_claim(&ls, &g, tp_board_desc_get(TP_REV_2_5), names, 4, "tpkit",
					TP_LINES_TOLERATE_BUSY), 0);
	assert_false(tp_lines_find(&ls, "node3-en")->held);
	assert_string_equal(tp_lines_find(&ls, "node3-en")->holder, "bmcd");
	assert_int_equal(tp_lines_get(&ls, "node3-en"), -1);
	assert_true(tp_lines_find(&ls, "node4-en")->held);
	tp_lines_release(&ls);
}

static void other_holder_hint(void **state)
{
	struct tp_gpio g = { &mem_ops, NULL };
	const char *names[] = { "node3-en" };
	struct tp_lines ls;

	(void)state;
	by_name("node3-en")->holder = "gpioset";
	assert_int_equal(tp_lines_claim(&ls, &g, NULL, names, 1, "tpkit", 0), -EBUSY);
	assert_non_null(strstr(tp_err_msg(), "held by \"gpioset\"; find the process with `gpioinfo`"));
	names[0] = "node9-en";
	assert_int_equal(tp_lines_claim(&ls, &g, NULL, names, 1, "tpkit", 0), -ENOENT);
	assert_string_equal(tp_err_msg(), "GPIO line node9-en: no line node9-en");
	by_name("node3-en")->holder = "bmcd";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(claim_and_set),
		cmocka_unit_test(held_line_changes_nothing),
		cmocka_unit_test(other_holder_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
