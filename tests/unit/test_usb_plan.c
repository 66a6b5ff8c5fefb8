// SPDX-License-Identifier: MIT
/* USB routing plans per node and revision, against hardware.md §6 tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "board/turingpi2/usb.h"
#include "common/err.h"

/* The plan as "name=value ..." for whole-sequence comparisons. */
static const char *render(const struct tp_usb_plan *p)
{
	static char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s=%d", i ? " " : "",
					p->step[i].regulator ? "usb-port-power" : p->step[i].name,
					p->step[i].value);
	return buf;
}

static const struct tp_board_desc *v24(void)
{
	return tp_board_desc_get(TP_REV_2_4);
}

static void v24_mux_per_node(void **state)
{
	/* §6.2: [SEL1 PG1, OE1 PG2, SEL2 PG0, OE2 PG3], bit i drives member i. */
	static const char *const mux[4] = {
		"PG1=0 PG2=0 PG0=1 PG3=1", /* node 1: 0b1100 */
		"PG1=1 PG2=0 PG0=1 PG3=1", /* node 2: 0b1101 */
		"PG1=1 PG2=1 PG0=0 PG3=0", /* node 3: 0b0011 */
		"PG1=1 PG2=1 PG0=1 PG3=0", /* node 4: 0b0111 */
	};
	struct tp_usb_plan p;

	(void)state;
	for (unsigned n = 1; n <= 4; n++) {
		char want[512];

		assert_int_equal(tp_usb_plan(v24(), n, TP_USB_DEVICE, TP_ROUTE_BMC, &p), 0);
		snprintf(want, sizeof(want),
			 "PG5=1 usb-port-power=0 %s "
			 "node1-usbotg-dev=1 node2-usbotg-dev=1 node3-usbotg-dev=1 node4-usbotg-dev=1 "
			 "node1-rpiboot=0 node2-rpiboot=0 node3-rpiboot=0 node4-rpiboot=0",
			 mux[n - 1]);
		assert_string_equal(render(&p), want);
	}
}

static void v24_host_and_flash(void **state)
{
	struct tp_usb_plan p;

	(void)state;
	/* Host: the selected node's usbotg-dev bit clear, the others set. */
	assert_int_equal(tp_usb_plan(v24(), 3, TP_USB_HOST, TP_ROUTE_USB_A, &p), 0);
	assert_string_equal(render(&p),
			    "PG5=0 usb-port-power=1 PG1=1 PG2=1 PG0=0 PG3=0 "
			    "node1-usbotg-dev=1 node2-usbotg-dev=1 node3-usbotg-dev=0 node4-usbotg-dev=1 "
			    "node1-rpiboot=0 node2-rpiboot=0 node3-rpiboot=0 node4-rpiboot=0");
	/* Flash: device plus only this node's strap. */
	assert_int_equal(tp_usb_plan(v24(), 2, TP_USB_FLASH, TP_ROUTE_BMC, &p), 0);
	assert_string_equal(render(&p),
			    "PG5=1 usb-port-power=0 PG1=1 PG2=0 PG0=1 PG3=1 "
			    "node1-usbotg-dev=1 node2-usbotg-dev=1 node3-usbotg-dev=1 node4-usbotg-dev=1 "
			    "node1-rpiboot=0 node2-rpiboot=1 node3-rpiboot=0 node4-rpiboot=0");
	assert_string_equal(p.step[1].name, "/sys/bus/platform/devices/usb-port-power/state");
	assert_true(p.step[1].regulator);
	/* v2.4 has no USB-C node port. */
	assert_int_equal(tp_usb_plan(v24(), 1, TP_USB_DEVICE, TP_ROUTE_USB_C, &p), -EOPNOTSUPP);
	assert_non_null(strstr(tp_err_msg(), "no USB-C node port"));
}

static void v25_family(void **state)
{
	static const enum tp_rev revs[] = { TP_REV_2_5, TP_REV_2_5_1, TP_REV_2_5_2 };
	struct tp_usb_plan p;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const struct tp_board_desc *d = tp_board_desc_get(revs[i]);

		/* §6.3: nodes are already on the hub; only the upstream and straps. */
		assert_int_equal(tp_usb_plan(d, 2, TP_USB_FLASH, TP_ROUTE_BMC, &p), 0);
		assert_string_equal(render(&p), "PG2=1 node1-rpiboot=0 node2-rpiboot=1 "
						"node3-rpiboot=0 node4-rpiboot=0");
		/* Node 1 also leaves the USB-A port. */
		assert_int_equal(tp_usb_plan(d, 1, TP_USB_DEVICE, TP_ROUTE_USB_C, &p), 0);
		assert_string_equal(render(&p), "PG2=0 PG0=0 PG1=0 node1-rpiboot=0 "
						"node2-rpiboot=0 node3-rpiboot=0 node4-rpiboot=0");
		assert_int_equal(tp_usb_plan(d, 1, TP_USB_FLASH, TP_ROUTE_USB_A, &p), 0);
		assert_string_equal(render(&p), "PG0=1 PG1=1 node1-rpiboot=1 node2-rpiboot=0 "
						"node3-rpiboot=0 node4-rpiboot=0");
		/* What the hardware cannot do. */
		assert_int_equal(tp_usb_plan(d, 2, TP_USB_HOST, TP_ROUTE_BMC, &p), -EOPNOTSUPP);
		assert_non_null(strstr(tp_err_msg(), "cannot make a node USB host"));
		assert_int_equal(tp_usb_plan(d, 3, TP_USB_DEVICE, TP_ROUTE_USB_A, &p), -EOPNOTSUPP);
		assert_non_null(strstr(tp_err_msg(), "only node 1 reaches the USB-A port"));
	}
}

static void bad_slot_and_names(void **state)
{
	struct tp_usb_plan p;
	enum tp_usb_mode m;
	enum tp_usb_route r;

	(void)state;
	assert_int_equal(tp_usb_plan(v24(), 0, TP_USB_DEVICE, TP_ROUTE_BMC, &p), -EINVAL);
	assert_int_equal(tp_usb_plan(v24(), 5, TP_USB_DEVICE, TP_ROUTE_BMC, &p), -EINVAL);
	assert_int_equal(tp_usb_mode_parse("flash", &m), 0);
	assert_int_equal(m, TP_USB_FLASH);
	assert_int_equal(tp_usb_mode_parse("otg", &m), -EINVAL);
	assert_int_equal(tp_usb_route_parse("usb-a", &r), 0);
	assert_int_equal(r, TP_ROUTE_USB_A);
	assert_int_equal(tp_usb_route_parse("alt", &r), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "use bmc, usb-a or usb-c"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v24_mux_per_node),
		cmocka_unit_test(v24_host_and_flash),
		cmocka_unit_test(v25_family),
		cmocka_unit_test(bad_slot_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
