// SPDX-License-Identifier: MIT
/* tpkit info: what board this is, the BMC's facts, and every slot's state. */
#include "cli.h"
#include "board/turingpi2/gpio.h"
#include "board/turingpi2/power.h"
#include "board/turingpi2/usb.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bmc_facts {
	char firmware[64];
	char kernel[64];
	long mem_total_kb, mem_avail_kb;
};

static void help(void)
{
	printf("Usage: tpkit info [OPTIONS]\n\n"
	       "Show the board revision (and how it was found), the BMC's firmware, kernel\n"
	       "and memory, and each slot's power, USB link and console UART.\n\n"
	       TP_CLI_COMMON_HELP);
}

static void read_os_release(char *out, size_t size)
{
	char buf[2048], *p;

	snprintf(out, size, "unknown");
	if (tp_file_read("/etc/os-release", buf, sizeof(buf)) < 0)
		return;
	for (p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
		if (!strncmp(p, "VERSION=", 8)) {
			/* VERSION=2.1.0 or VERSION="2.1.0" */
			p += 8;
			p += *p == '"';
			p[strcspn(p, "\"")] = '\0';
			snprintf(out, size, "%s", p);
		}
}

static long meminfo_kb(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void read_facts(struct bmc_facts *f)
{
	char buf[4096];

	read_os_release(f->firmware, sizeof(f->firmware));
	if (tp_file_read("/proc/sys/kernel/osrelease", f->kernel, sizeof(f->kernel)) < 0)
		snprintf(f->kernel, sizeof(f->kernel), "unknown");
	f->kernel[strcspn(f->kernel, "\n")] = '\0';
	f->mem_total_kb = f->mem_avail_kb = -1;
	if (tp_file_read("/proc/meminfo", buf, sizeof(buf)) >= 0) {
		f->mem_total_kb = meminfo_kb(buf, "MemTotal:");
		f->mem_avail_kb = meminfo_kb(buf, "MemAvailable:");
	}
}

/* The BMC's own facts, which need no board. */
static void print_facts(const struct bmc_facts *f)
{
	printf("firmware   %s\nkernel     %s\n", f->firmware, f->kernel);
	if (f->mem_total_kb >= 0)
		printf("memory     %ld kB total, %ld kB available\n", f->mem_total_kb,
		       f->mem_avail_kb);
}

static void print_human(const struct tp_board *b, const struct bmc_facts *f,
			const struct tp_slot_power *pw, const struct tp_usb_state *us, bool lines)
{
	const struct tp_board_id *id = &b->id;

	printf("board      Turing Pi 2 %s (from the %s%s%s%s)\n", b->desc->name, id->source,
	       id->model[0] ? ": \"" : "", id->model, id->model[0] ? "\"" : "");
	if (id->have_eeprom)
		printf("eeprom     %s: hw_version 0x%04x, serial %s, MAC "
		       "%02x:%02x:%02x:%02x:%02x:%02x, CRC %s\n",
		       id->eeprom_path, id->eeprom.hw_version, id->eeprom.serial,
		       id->eeprom.mac[0], id->eeprom.mac[1], id->eeprom.mac[2], id->eeprom.mac[3],
		       id->eeprom.mac[4], id->eeprom.mac[5], id->eeprom.valid ? "ok" : "BAD");
	else
		printf("eeprom     not found\n");
	if (id->warning[0])
		printf("warning    %s\n", id->warning);
	print_facts(f);
	printf("usb        %s\n", b->desc->usb_bus == TP_USB_HUB ? "hub (all nodes at once)" :
								    "mux (one node at a time)");
	printf("tpkit      %s, GPIO backend %s\n\n", TPKIT_VERSION, b->gpio->ops->name);
	printf("SLOT  POWER    USB     MODE    UART\n");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char uart[32];

		tp_slot_uart(uart, sizeof(uart), s);
		printf("%-5u %-8s %-7s %-7s %s\n", s, lines ? tp_power_word(&pw[s - 1]) : "?",
		       tp_usb_link_name(us->slot[s - 1].link),
		       us->known ? tp_usb_mode_name(us->slot[s - 1].mode) : "?", uart);
	}
}

static void print_json(const struct tp_cli *c, const struct tp_board *b,
		       const struct bmc_facts *f, const struct tp_slot_power *pw,
		       const struct tp_usb_state *us)
{
	const struct tp_board_id *id = &b->id;
	struct tp_json j;
	char mac[18];

	tp_cli_json_result(c, &j, b, true);
	tp_json_str(&j, "source", id->source);
	tp_json_str(&j, "model", id->model);
	if (id->have_eeprom) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", id->eeprom.mac[0],
			 id->eeprom.mac[1], id->eeprom.mac[2], id->eeprom.mac[3],
			 id->eeprom.mac[4], id->eeprom.mac[5]);
		tp_json_obj_begin(&j, "eeprom");
		tp_json_str(&j, "path", id->eeprom_path);
		tp_json_int(&j, "hw_version", id->eeprom.hw_version);
		tp_json_bool(&j, "crc_ok", id->eeprom.valid);
		tp_json_str(&j, "serial", id->eeprom.serial);
		tp_json_str(&j, "product", id->eeprom.product);
		tp_json_str(&j, "mac", mac);
		tp_json_obj_end(&j);
	} else {
		tp_json_null(&j, "eeprom");
	}
	if (id->warning[0])
		tp_json_str(&j, "warning", id->warning);
	tp_json_str(&j, "firmware", f->firmware);
	tp_json_str(&j, "kernel", f->kernel);
	tp_json_int(&j, "mem_total_kb", f->mem_total_kb);
	tp_json_int(&j, "mem_available_kb", f->mem_avail_kb);
	tp_json_str(&j, "bus", b->desc->usb_bus == TP_USB_HUB ? "hub" : "mux");
	tp_json_str(&j, "version", TPKIT_VERSION);
	tp_json_arr_begin(&j, "slots");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char uart[32];

		tp_slot_uart(uart, sizeof(uart), s);
		tp_json_obj_begin(&j, NULL);
		tp_json_int(&j, "slot", s);
		tp_json_str(&j, "power", tp_power_word(&pw[s - 1]));
		tp_json_str(&j, "route", tp_usb_link_name(us->slot[s - 1].link));
		if (us->known)
			tp_json_str(&j, "mode", tp_usb_mode_name(us->slot[s - 1].mode));
		tp_json_str(&j, "uart", uart);
		tp_json_obj_end(&j);
	}
	tp_json_arr_end(&j);
	tp_json_obj_end(&j);
}

int cmd_info_main(struct tp_cli *c, int argc, char **argv)
{
	static const struct tp_cli_opt opts[] = { { 0 } };
	struct tp_slot_power pw[TP_BOARD_SLOTS];
	struct tp_usb_state us;
	struct bmc_facts f;
	struct tp_board *b = NULL;
	bool lines = true;
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	if (optind != argc)
		return tp_cli_usage(c, "info takes no arguments");
	read_facts(&f);
	rc = tp_cli_board_open(c, &b);
	if (rc == TP_EXIT_BOARD && !c->json && c->verbosity >= 0) {
		/* Not a board tpkit knows: what the BMC itself is still helps
		 * whoever reads the error above it. */
		printf("board      unknown (see above)\n");
		print_facts(&f);
		printf("tpkit      %s\n", TPKIT_VERSION);
	}
	if (rc)
		return rc;
	/* Lines held elsewhere read as unknown; info still shows the rest. */
	if (tp_power_status(b, TP_SLOTS_ALL, pw) < 0) {
		TP_WARN("%s", tp_err_msg());
		lines = false;
	}
	if (tp_usb_status(b, &us) < 0) {
		TP_WARN("%s", tp_err_msg());
		memset(&us, 0, sizeof(us));
	}
	if (c->json)
		print_json(c, b, &f, pw, &us);
	else
		print_human(b, &f, pw, &us, lines);
	tp_board_close(b);
	return TP_EXIT_OK;
}
