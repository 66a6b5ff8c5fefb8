/* SPDX-License-Identifier: MIT */
/*
 * The Turing Pi 2 as data: what differs between revisions (GPIO lines, SoC
 * pins for USB routing and their meaning, regulators, UARTs), and the board
 * handle that commands work through. Facts and their sources are in
 * docs/hardware.md; section numbers below refer to it.
 */
#ifndef TP_BOARD_H
#define TP_BOARD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_BOARD_SLOTS 4

enum tp_rev { TP_REV_UNKNOWN = 0, TP_REV_2_4, TP_REV_2_5, TP_REV_2_5_1, TP_REV_2_5_2 };

enum tp_usb_bus {
	TP_USB_MUX, /* v2.4: one node at a time through a mux (§6.2) */
	TP_USB_HUB, /* v2.5+: all nodes behind a hub on ports 1-4 (§6.3) */
};

/* A raw SoC pin tpkit drives, by chip and offset (offset = bank * 32 + pin). */
struct tp_pin {
	const char *name;    /* "PG5" */
	unsigned offset;     /* 197 */
	const char *meaning; /* what it does on this revision */
};

struct tp_board_desc {
	enum tp_rev rev;
	const char *name;     /* "v2.5.1" */
	uint16_t hw_code;     /* EEPROM hw_version (§2.3) */
	const char *dt_model; /* /proc/device-tree/model of the DTB it boots */
	bool has_rst;         /* nodeN-rst lines exist (v2.4 only) */
	bool usbotg_all;      /* nodeN-usbotg-dev for every node (v2.4) */
	enum tp_usb_bus usb_bus;
	const char *soc_chip; /* the pin controller, gpiochip0 on every revision (§3.1) */
	const struct tp_pin *pins;
	size_t npins;
	const char *usb_port_power; /* USB-A VBUS regulator state file, or NULL */
	/* The pin that steers the hub's upstream to the BMC (1), shared by
	 * every slot (§6.3); NULL on a mux board. */
	const char *hub_upstream;
};

const struct tp_board_desc *tp_board_desc_get(enum tp_rev rev);

/* "2.4", "v2.5", "2.5.0", "2.5.1", "v2.5.2" -> revision; TP_REV_UNKNOWN if none. */
enum tp_rev tp_rev_parse(const char *s);

/* The raw pin of that name on this revision, or NULL. */
const struct tp_pin *tp_board_pin(const struct tp_board_desc *d, const char *name);

/* "node2-en" etc.; what is "en", "rpiboot", "usbotg-dev", "rst". */
void tp_line_name(char *buf, size_t size, unsigned slot, const char *what);

/* Regulator state file of a slot (§4), relative to the root. */
void tp_slot_regulator(char *buf, size_t size, unsigned slot);

/* UART of a slot's console (§8). */
void tp_slot_uart(char *buf, size_t size, unsigned slot);

/* ---- revision detection (detect.c) ---- */

#define TP_EEPROM_INFO_LEN 50

struct tp_eeprom_info {
	bool valid;             /* CRC matched one of the known coverages */
	unsigned crc_coverage;  /* 44 (bmcd) or 26 (U-Boot burn_eeprom) bytes */
	uint32_t crc_stored, crc_bmcd;
	uint16_t hdr_version;
	uint16_t hw_version;
	char serial[17];
	char product[17];
	uint8_t mac[6];
};

/* Parse the 50-byte board-info block; -EINVAL (with message) if too short. */
int tp_eeprom_parse(const uint8_t *buf, size_t len, struct tp_eeprom_info *out);

/* Revision from a DT model string; TP_REV_UNKNOWN if not a known Turing Pi 2. */
enum tp_rev tp_rev_from_model(const char *model);

/* Revision from an EEPROM hw_version code; TP_REV_UNKNOWN if not known. */
enum tp_rev tp_rev_from_hw_code(uint16_t code);

struct tp_board_id {
	enum tp_rev rev;
	const char *source;     /* "override", "device-tree", "eeprom" */
	char model[128];        /* DT model, "" if none */
	bool have_eeprom;
	char eeprom_path[256];  /* relative to the root */
	struct tp_eeprom_info eeprom;
	char warning[256];      /* DT/EEPROM disagreement and the like, or "" */
};

/*
 * Find out which board this is (§2.4): an override (--board-rev) wins; then
 * the DT model, refined by the EEPROM (v2.5.1 and v2.5.2 share a DTB); then
 * the EEPROM alone. -ENODEV with a message naming what was read otherwise.
 */
int tp_board_detect(const char *override, struct tp_board_id *id);

/* ---- the board handle (board.c) ---- */

struct tp_gpio;

struct tp_board {
	const struct tp_board_desc *desc;
	struct tp_board_id id;
	struct tp_gpio *gpio;
	const char *consumer; /* label on every GPIO request, "tpkit" */
	char gpio_spec[256];  /* the backend it was opened with ("": the default) */
	/*
	 * NULL, or a mutex taken around flash mode's
	 * claim of its lines: for a process where other threads read the
	 * same lines through another handle while holding it (tpkit serve:
	 * a status read holds a line for a moment, and a flash claiming it
	 * then would fail as busy).
	 */
	pthread_mutex_t *claim_lock;
};

struct tp_board_opts {
	const char *rev;      /* --board-rev, or NULL */
	const char *gpio;     /* GPIO backend spec, or NULL for TPKIT_GPIO / default */
};

int tp_board_open(struct tp_board **b, const struct tp_board_opts *opts);
void tp_board_close(struct tp_board *b);

#endif
