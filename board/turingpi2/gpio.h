/* SPDX-License-Identifier: MIT */
/*
 * GPIO backends. tpkit drives named lines (node2-en) and raw SoC pins (PG5)
 * through one interface with two implementations: libgpiod v1.6 on the BMC,
 * and a client of the board twin's simulator for tests (docs/twin.md).
 *
 * Lines are requested *as is*: requesting changes nothing on the board, so a
 * command can claim every line it needs, find one held by another process
 * (bmcd), and give up before it has changed anything.
 */
#ifndef TP_GPIO_H
#define TP_GPIO_H

#include <stdbool.h>
#include <stddef.h>

struct tp_gpio;

struct tp_line {
	char name[32];  /* "node2-en", or a SoC pin "PG5" */
	char chip[32];  /* "gpiochip2" */
	unsigned offset;
	int value;      /* logical value, read at request time, then as set */
	bool held;      /* requested by us */
	char holder[64];/* who holds it when we could not (-EBUSY) */
	void *priv;     /* the backend's handle */
};

struct tp_gpio_ops {
	const char *name;
	int (*open)(struct tp_gpio *g, const char *arg);
	void (*close)(struct tp_gpio *g);
	/* Look a line up by name across all chips: fills chip and offset. */
	int (*find)(struct tp_gpio *g, struct tp_line *l);
	/* Request as is; fills value, or holder on -EBUSY. */
	int (*request)(struct tp_gpio *g, struct tp_line *l, const char *consumer);
	int (*get)(struct tp_gpio *g, struct tp_line *l, int *value);
	/* Drive the line as an output with this logical value. */
	int (*set)(struct tp_gpio *g, struct tp_line *l, int value);
	void (*release)(struct tp_gpio *g, struct tp_line *l);
};

struct tp_gpio {
	const struct tp_gpio_ops *ops;
	void *priv;
};

/*
 * Open a backend: spec "gpiod" or "sim:/path/to/socket"; NULL takes
 * TPKIT_GPIO from the environment, else the Kconfig default.
 */
int tp_gpio_open(struct tp_gpio **g, const char *spec);
void tp_gpio_close(struct tp_gpio *g);

extern const struct tp_gpio_ops tp_gpio_gpiod_ops;
extern const struct tp_gpio_ops tp_gpio_sim_ops;

/* ---- line sets (lines.c) ---- */

#define TP_LINES_MAX 24

/* Tolerate lines held elsewhere (status): they stay unheld, value -1. */
#define TP_LINES_TOLERATE_BUSY 0x1

struct tp_board_desc;

struct tp_lines {
	struct tp_gpio *gpio;
	size_t n;
	struct tp_line l[TP_LINES_MAX];
};

/*
 * Claim a set of lines by name (line names, or raw pin names of this board).
 * All or nothing: if one is held elsewhere, every line claimed so far is
 * released and -EBUSY comes back with a message naming the line, its holder
 * and what to do. Nothing on the board changes either way.
 */
int tp_lines_claim(struct tp_lines *ls, struct tp_gpio *g, const struct tp_board_desc *d,
		   const char *const *names, size_t n, const char *consumer, unsigned flags);

struct tp_line *tp_lines_find(struct tp_lines *ls, const char *name);

/* Set a claimed line; the message names line, chip and offset. */
int tp_lines_set(struct tp_lines *ls, const char *name, int value);

/* Re-read a claimed line's value (-1 if it is not held). */
int tp_lines_get(struct tp_lines *ls, const char *name);

void tp_lines_release(struct tp_lines *ls);

#endif
