// SPDX-License-Identifier: MIT
/* Per-revision board data, from hardware.md §1-§4, §6 and §8. */
#include "board.h"

#include <stdio.h>
#include <string.h>

/* v2.4: the USB mux and route switch on port G (§3.2). */
static const struct tp_pin pins_v24[] = {
	{ "PG0", 192, "USB mux select 2 (USB_SEL2)" },
	{ "PG1", 193, "USB mux select 1 (USB_SEL1)" },
	{ "PG2", 194, "USB mux output enable 1 (USB_OE1)" },
	{ "PG3", 195, "USB mux output enable 2 (USB_OE2)" },
	{ "PG5", 197, "node USB to the BMC (1) or the USB-A port (0) (USB_SWITCH)" },
};

/* v2.5+: the same pins mean something else (§3.3). */
static const struct tp_pin pins_v25[] = {
	{ "PG0", 192, "node 1 USB output switch (set with PG1)" },
	{ "PG1", 193, "node 1 USB source switch: PG0 = PG1 = 1 puts node 1 on USB-A" },
	{ "PG2", 194, "hub upstream to the BMC (1) or the 4XNODE_USB_OTG port (0)" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct tp_board_desc boards[] = {
	{
		.rev = TP_REV_2_4,
		.name = "v2.4",
		.hw_code = 0x1100,
		.dt_model = "Turing Pi 2 (v2.4)",
		.has_rst = true,
		.usbotg_all = true,
		.usb_bus = TP_USB_MUX,
		.soc_chip = "gpiochip0",
		.pins = pins_v24,
		.npins = N(pins_v24),
		.usb_port_power = "/sys/bus/platform/devices/usb-port-power/state",
	},
	{
		.rev = TP_REV_2_5,
		.name = "v2.5",
		.hw_code = 0x1140,
		.dt_model = "Turing Pi 2 (v2.5)",
		.usb_bus = TP_USB_HUB,
		.hub_upstream = "PG2",
		.soc_chip = "gpiochip0",
		.pins = pins_v25,
		.npins = N(pins_v25),
	},
	{
		.rev = TP_REV_2_5_1,
		.name = "v2.5.1",
		.hw_code = 0x1141,
		.dt_model = "Turing Pi 2 (v2.5.1)",
		.usb_bus = TP_USB_HUB,
		.hub_upstream = "PG2",
		.soc_chip = "gpiochip0",
		.pins = pins_v25,
		.npins = N(pins_v25),
	},
	{
		/* Boots the v2.5.1 DTB; only the EEPROM tells it apart (§1). */
		.rev = TP_REV_2_5_2,
		.name = "v2.5.2",
		.hw_code = 0x1142,
		.dt_model = "Turing Pi 2 (v2.5.1)",
		.usb_bus = TP_USB_HUB,
		.hub_upstream = "PG2",
		.soc_chip = "gpiochip0",
		.pins = pins_v25,
		.npins = N(pins_v25),
	},
};

const struct tp_board_desc *tp_board_desc_get(enum tp_rev rev)
{
	for (size_t i = 0; i < N(boards); i++)
		if (boards[i].rev == rev)
			return &boards[i];
	return NULL;
}

enum tp_rev tp_rev_parse(const char *s)
{
	if (!s)
		return TP_REV_UNKNOWN;
	if (s[0] == 'v' || s[0] == 'V')
		s++;
	if (!strcmp(s, "2.4") || !strcmp(s, "2.4.0"))
		return TP_REV_2_4;
	if (!strcmp(s, "2.5") || !strcmp(s, "2.5.0"))
		return TP_REV_2_5;
	if (!strcmp(s, "2.5.1"))
		return TP_REV_2_5_1;
	if (!strcmp(s, "2.5.2"))
		return TP_REV_2_5_2;
	return TP_REV_UNKNOWN;
}

const struct tp_pin *tp_board_pin(const struct tp_board_desc *d, const char *name)
{
	for (size_t i = 0; i < d->npins; i++)
		if (!strcmp(d->pins[i].name, name))
			return &d->pins[i];
	return NULL;
}

void tp_line_name(char *buf, size_t size, unsigned slot, const char *what)
{
	snprintf(buf, size, "node%u-%s", slot, what);
}

void tp_slot_regulator(char *buf, size_t size, unsigned slot)
{
	snprintf(buf, size, "/sys/bus/platform/devices/node%u-power/state", slot);
}

void tp_slot_uart(char *buf, size_t size, unsigned slot)
{
	/* ttyS1..ttyS4 on the v2.1+ kernels (§8). */
	snprintf(buf, size, "/dev/ttyS%u", slot);
}
