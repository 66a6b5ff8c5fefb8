# SPDX-License-Identifier: MIT
include $(sort $(wildcard $(BR2_EXTERNAL_TPKIT_PATH)/package/*/*.mk))
