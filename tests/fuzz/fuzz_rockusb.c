// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what a device sends back over rockusb
 * (bmc/rockchip/rockusb_proto.c): a CSW, checked against a command built
 * from the input, and the FLASH_INFO, FLASH_ID and CHIP_INFO replies, each
 * on an exact-size copy. Also the CBW decoder a device model uses.
 */
#include "bmc/rockchip/rockusb_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tp_rk_op ops[] = { TP_RK_TEST_UNIT_READY, TP_RK_READ_FLASH_ID,
					     TP_RK_READ_LBA, TP_RK_WRITE_LBA,
					     TP_RK_READ_FLASH_INFO, TP_RK_READ_CHIP_INFO,
					     TP_RK_ERASE_LBA, TP_RK_DEVICE_RESET };
	struct tp_rk_cbw c, d;
	struct tp_rk_csw s;
	struct tp_rk_flash_info fi;
	char id[TP_RK_FLASH_ID_LEN + 1], chip[5];
	uint8_t *b, enc[64];
	uint16_t cur, tot;
	bool emmc;
	uint32_t lba = 0, count = 0;

	if (size < 9)
		return 0;
	memcpy(&lba, data + 1, 4);
	memcpy(&count, data + 5, 4);
	b = malloc(size - 9 ? size - 9 : 1);
	if (!b)
		return 0;
	memcpy(b, data + 9, size - 9);
	if (tp_rk_cbw_make(&c, ops[data[0] & 7], lba ^ count, lba, count % 70000, data[0] >> 3) ==
	    0) {
		tp_rk_cbw_encode(&c, enc);
		if (tp_rk_cbw_decode(enc, TP_RK_CBW_LEN, &d) != 0 || d.tag != c.tag || d.op != c.op)
			abort(); /* what we encode, we decode */
		if (tp_rk_csw_decode(b, size - 9, &s) == 0)
			(void)tp_rk_csw_check(&s, &c);
	}
	(void)tp_rk_cbw_decode(b, size - 9, &d);
	if (tp_rk_flash_info_parse(b, size - 9, &fi) == 0)
		(void)fi;
	if (tp_rk_flash_id_parse(b, size - 9, id, &emmc) == 0 && strlen(id) > TP_RK_FLASH_ID_LEN)
		abort();
	if (tp_rk_chip_info_parse(b, size - 9, chip) == 0 && strlen(chip) > 4)
		abort();
	tp_rk_tur_progress(lba, &cur, &tot);
	(void)tp_rk_op_name(data[0]);
	free(b);
	return 0;
}
