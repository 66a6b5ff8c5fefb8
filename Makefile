# SPDX-License-Identifier: MIT
#
# tpkit: one top-level Makefile, Kconfig-driven (docs/building.md).
#
#   make                         native build into build/
#   make CROSS_COMPILE=arm-linux-gnueabi- [SYSROOT=...]   the BMC, into build-armel/
#   make TPKIT_ARCH=armhf        the same, hard-float
#   make node                    the node helper alone (build/tpkit-node)
#   make TPKIT_ARCH=aarch64 node the node helper, static, for RK1 and CM4 (build-aarch64/)
#   make check | check-vm | check-cross | check-node-cross | check-configs | demo | demo-flash | menuconfig | defconfig | savedefconfig | man | install
#   make fuzz [FUZZ_TIME=60]     libFuzzer targets (tests/fuzz/), clang, FUZZ_TIME s each
#   make nodeimg                 the twin nodes' Debian test images (tests/twin/nodeimg/, slow)
#   V=1 shows commands; O=dir builds elsewhere; WERROR=1 makes warnings errors;
#   SANITIZE=1 builds with ASan + UBSan; SANITIZE=thread with TSan.

TPKIT_VERSION := 0.1.0

ifeq ($(V),1)
Q :=
else
Q := @
endif

# ---- target: native, armel (the BMC's soft-float EABI) or armhf ----------
ifneq ($(CROSS_COMPILE),)
ifneq ($(findstring gnueabihf,$(CROSS_COMPILE)),)
TPKIT_ARCH ?= armhf
else ifneq ($(findstring gnueabi,$(CROSS_COMPILE)),)
TPKIT_ARCH ?= armel
endif
endif
TPKIT_ARCH ?= native

ifeq ($(TPKIT_ARCH),armel)
# Buildroot BR2_ARM_EABI + Cortex-A7 (hardware.md §11): softfp, VFPv4-D16.
CROSS_COMPILE ?= arm-linux-gnueabi-
MULTIARCH     := arm-linux-gnueabi
ARCH_CFLAGS   := -mcpu=cortex-a7 -mfpu=vfpv4-d16 -mfloat-abi=softfp -mthumb
QEMU_LOADER   := /lib/ld-linux.so.3
else ifeq ($(TPKIT_ARCH),armhf)
CROSS_COMPILE ?= arm-linux-gnueabihf-
MULTIARCH     := arm-linux-gnueabihf
ARCH_CFLAGS   := -mcpu=cortex-a7 -mfpu=neon-vfpv4 -mthumb
QEMU_LOADER   := /lib/ld-linux-armhf.so.3
else ifeq ($(TPKIT_ARCH),aarch64)
# The node helper only (RK1: Cortex-A76/A55, CM4: Cortex-A72), linked
# statically so one binary runs on any Ubuntu release (docs/node-helper.md §7).
CROSS_COMPILE ?= aarch64-linux-gnu-
MULTIARCH     := aarch64-linux-gnu
ARCH_CFLAGS   :=
QEMU_LOADER   := /lib/ld-linux-aarch64.so.1
QEMU_BIN      := qemu-aarch64
SYSROOT       ?= /opt/tpkit-sysroot-arm64
NODE_LDFLAGS  := -static
NODE_LIBS      = $(shell $(PKG) --static --libs libcrypto)
else ifneq ($(TPKIT_ARCH),native)
$(error TPKIT_ARCH must be native, armel, armhf or aarch64, not "$(TPKIT_ARCH)")
endif
ifneq ($(TPKIT_ARCH),native)
QEMU_BIN ?= qemu-arm -cpu cortex-a7
endif

ifneq ($(TPKIT_ARCH),native)
SYSROOT   ?= /opt/tpkit-sysroot-$(TPKIT_ARCH)
O         ?= build-$(TPKIT_ARCH)
DEFCONFIG ?= bmc_defconfig
# Passed on the command line of every pkg-config call: make 4.3's $(shell)
# does not see variables the Makefile exports, so `export` would only reach
# recipes and the flags would silently come from the build machine.
# Two sysroot layouts: Debian's multiarch (usr/lib/<triplet>/, made by
# scripts/install-deps.sh) and Buildroot's staging directory (usr/lib/,
# board/turingpi2/buildroot/; scripts/mkstaging.sh makes one for CI).
ifneq ($(wildcard $(SYSROOT)/usr/lib/$(MULTIARCH)/pkgconfig),)
SYSROOT_PC   := $(SYSROOT)/usr/lib/$(MULTIARCH)/pkgconfig
SYSROOT_LIBS := $(SYSROOT)/lib/$(MULTIARCH):$(SYSROOT)/usr/lib/$(MULTIARCH)
else
SYSROOT_PC   := $(SYSROOT)/usr/lib/pkgconfig
SYSROOT_LIBS := $(SYSROOT)/lib:$(SYSROOT)/usr/lib
endif
PKG_CONFIG_ENV := PKG_CONFIG_LIBDIR=$(SYSROOT_PC):$(SYSROOT)/usr/share/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$(SYSROOT)
ARCH_CFLAGS += --sysroot=$(SYSROOT)
ARCH_LDFLAGS := --sysroot=$(SYSROOT)
# Run cross-built programs with the sysroot's own loader (toolchain.md §7.6:
# -L breaks libudev's view of / for umockdev; this form works for both).
QEMU := $(QEMU_BIN) $(SYSROOT)$(QEMU_LOADER) --library-path $(SYSROOT_LIBS)
else
O         ?= build
DEFCONFIG ?= host_defconfig
QEMU      :=
endif

# Make predefines CC and AR, so ?= would never take CROSS_COMPILE.
ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif
PKG_CONFIG ?= pkg-config
PKG        := $(PKG_CONFIG_ENV) $(PKG_CONFIG)
PYTHON     := /usr/bin/python3

# ---- configuration: Kconfig -> .config -> autoconf.h + auto.conf ---------
KCONFIG_OUT := $(O)/.config
AUTOCONF_H  := $(O)/include/generated/autoconf.h
AUTOCONF_MK := $(O)/include/config/auto.conf
KCONFIG_ENV  = KCONFIG_CONFIG=$(KCONFIG_OUT) srctree=$(CURDIR) \
	HAVE_LIBGPIOD=$(shell $(PKG) --exists libgpiod && echo y || echo n) \
	HAVE_LIBUSB=$(shell $(PKG) --exists libusb-1.0 && echo y || echo n) \
	HAVE_LIBCURL=$(shell $(PKG) --exists libcurl && echo y || echo n) \
	HAVE_LIBEXT2FS=$(shell $(PKG) --exists ext2fs && echo y || echo n) \
	HAVE_LIBJSONC=$(shell $(PKG) --exists json-c && echo y || echo n) \
	HAVE_LIBCIVETWEB=$(if $(wildcard $(SYSROOT)/usr/include/civetweb.h),y,n)

# Goals that must work before anything is installed or configured.
NOCONFIG_GOALS := check check-cross check-node-cross check-configs demo demo-flash deps ci fuzz clean distclean help
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NOCONFIG_GOALS),$(MAKECMDGOALS)),)
SKIP_CONFIG := 1
endif
endif
ifneq ($(SKIP_CONFIG),1)
-include $(AUTOCONF_MK)
endif

# ---- objects, selected by Kconfig ------------------------------------------
common-y := err log path slots json clock crc32 cancel state
common-y += image pipeline pipeline_writer queue pull decode decode_xz xz_pool decode_gzip source_file checksum sink_file
common-$(CONFIG_TPKIT_ARCHIVE) += decode_archive
common-y += catalogue cache resolve download family rkrc4 parttable
common-$(CONFIG_TPKIT_SOURCE_HTTP) += source_http
common-$(CONFIG_TPKIT_CLOCK_SIM) += clock_sim
# The twin's wire protocol, for its GPIO and clock backends.
simlink-$(CONFIG_TPKIT_GPIO_SIM) := simlink
simlink-$(CONFIG_TPKIT_CLOCK_SIM) := simlink
common-y += $(simlink-y)
# The cluster configuration tree (docs/config.md) and atomic file writes.
common-y += atomic base64 config config_keys config_check config_ha kvconf
# Node report lines (docs/report-protocol.md), shared with the node helper.
common-y += report

board-y := desc detect gpio lines board power usb flashmode flashrec hubhold gadget
board-$(CONFIG_TPKIT_GPIO_GPIOD) += gpio_gpiod
board-$(CONFIG_TPKIT_GPIO_SIM)   += gpio_sim

bmc-y := main cli
bmc-$(CONFIG_TPKIT_CMD_POWER) += cmd_power
bmc-$(CONFIG_TPKIT_CMD_USB)   += cmd_usb
bmc-$(CONFIG_TPKIT_CMD_INFO)  += cmd_info
bmc-$(CONFIG_TPKIT_CMD_WRITE) += cmd_write cli_image progress
# flash drives whichever module kinds are configured, each in its own file.
flash-$(CONFIG_TPKIT_RK1) += flash_rk1
flash-$(CONFIG_TPKIT_CM4) += flash_cm4
bmc-$(CONFIG_TPKIT_CMD_FLASH) += cmd_flash flash flash_bringup flash_table flash_probe flash_image $(flash-y)
# tpkit usb msd: a flash mode that ends with the node handed over.
ifeq ($(CONFIG_TPKIT_CMD_USB),y)
bmc-$(CONFIG_TPKIT_CMD_FLASH) += usb_msd
endif
bmc-$(CONFIG_TPKIT_CMD_IMAGES) += cmd_images
bmc-$(CONFIG_TPKIT_CMD_CONFIG) += cmd_config
bmc-$(CONFIG_TPKIT_CMD_CONSOLE) += cmd_console
bmc-$(CONFIG_TPKIT_CMD_COMMISSION) += cmd_commission cmd_status status_watch cmd_kubeconfig
# tpkit serve (bmc/serve/, docs/serve.md): the bmcd-compatible API.
bmc-$(CONFIG_TPKIT_CMD_SERVE) += cmd_serve served
# tpkit --host (bmc/remote/, docs/remote.md): the API's client and the
# commands it runs.
bmc-$(CONFIG_TPKIT_REMOTE) += served remote/client remote/trust remote/ws remote/cmd_nodes remote/cmd_flash remote/cmd_console
# The seeding step, for flash --seed, seed and write --seed.
bmc-$(CONFIG_TPKIT_SEED) += flash_seed

# RK1 flashing (bmc/rockchip/): a library, so unit tests link it too.
rk-$(CONFIG_TPKIT_RK1) += ldr crc16 maskrom rockusb_proto rockusb rockusb_cmd rockusb_sink

# CM4 flashing (bmc/rpiboot/): rpiboot and the disk it brings up.
rpi-$(CONFIG_TPKIT_CM4) += rpiboot_proto rpifiles rpiboot

# Seeding (bmc/seed/): first-boot files through libext2fs.
seed-$(CONFIG_TPKIT_SEED) += io_sink seedfs seedfs_write text cloudinit node_files hostfile bundle \
	seed seed_root seed_apply

pkgs-y := liblzma libcrypto zlib
pkgs-$(CONFIG_TPKIT_ARCHIVE) += libarchive
pkgs-$(CONFIG_TPKIT_SOURCE_HTTP) += libcurl
pkgs-$(CONFIG_TPKIT_GPIO_GPIOD) += libgpiod
pkgs-$(CONFIG_TPKIT_RK1) += libusb-1.0
pkgs-$(CONFIG_TPKIT_CM4) += libusb-1.0
pkgs-$(CONFIG_TPKIT_SEED) += ext2fs com_err
pkgs-$(CONFIG_TPKIT_CMD_SERVE) += json-c
pkgs-$(CONFIG_TPKIT_REMOTE) += json-c libcurl
# The aarch64 build is the node helper alone: libc and libcrypto, linked
# statically (docs/node-helper.md §7).
ifeq ($(TPKIT_ARCH),aarch64)
pkgs-y := libcrypto
endif

# The node helper links libcrypto as the BMC does, except aarch64's static one.
NODE_LIBS ?= $(shell $(PKG) --libs libcrypto)

LIB_OBJS := $(common-y:%=$(O)/common/%.o) $(board-y:%=$(O)/board/turingpi2/%.o)
LIB_OBJS += $(rk-y:%=$(O)/bmc/rockchip/%.o)
LIB_OBJS += $(rpi-y:%=$(O)/bmc/rpiboot/%.o)
LIB_OBJS += $(seed-y:%=$(O)/bmc/seed/%.o)
# Bus-port paths and the kernel's USB disks, shared by both USB transports.
usb-$(CONFIG_TPKIT_RK1) += usbpath usbdisk
usb-$(CONFIG_TPKIT_CM4) += usbpath usbdisk
LIB_OBJS += $(sort $(usb-y:%=$(O)/bmc/%.o))
# Per-slot secrets and OpenSSH key encoding: in the library so that unit
# tests link them; seeding and commissioning use them, not only a command.
secrets-y := secrets sshkey
LIB_OBJS += $(secrets-y:%=$(O)/bmc/%.o)
# A node's console and its report lines (docs/report-protocol.md §8): for
# tpkit console and, later, the commissioning monitor; unit-testable.
LIB_OBJS += $(O)/bmc/console.o
# Commissioning (bmc/commission/, docs/commission.md): a library, so unit
# tests link its state machine.
commission-$(CONFIG_TPKIT_CMD_COMMISSION) += state plan monitor run live jobs
LIB_OBJS += $(commission-y:%=$(O)/bmc/commission/%.o)
# tpkit serve (bmc/serve/, docs/serve.md): the bmcd-compatible API; a
# library, so unit tests link its authentication and request parsing.
serve-$(CONFIG_TPKIT_CMD_SERVE) += http routes envelope query auth tls api_power api_usb api_system api_cooling api_uart api_bmc
ifeq ($(CONFIG_TPKIT_CMD_SERVE),y)
serve-$(CONFIG_TPKIT_CMD_FLASH) += api_flash api_upload api_msd
serve-$(CONFIG_TPKIT_ARCHIVE) += api_backup
endif
LIB_OBJS += $(serve-y:%=$(O)/bmc/serve/%.o)
# tpkit --host's reading of the websocket's bytes: a library, so that
# tests/fuzz/fuzz_ws.c links it.
LIB_OBJS += $(if $(CONFIG_TPKIT_REMOTE),$(O)/bmc/remote/wire.o)
BMC_OBJS := $(sort $(bmc-y:%=$(O)/bmc/%.o))
LIB      := $(O)/libtpkit.a
TPKIT    := $(O)/tpkit

# The node helper (node/, docs/node-helper.md): its own small library of the
# common/ objects it needs, so it links no BMC library; of the BMC's
# libraries only libcrypto, for the report lines' HMAC (common/report.c).
node-common-y := err log path atomic json kvconf report crc32 parttable base64
node-y        := conf journal run report_out steps migrate_plan migrate_files migrate identity \
                 k3s k3s_bundle argocd guard
NODE_LIB_OBJS := $(node-common-y:%=$(O)/common/%.o) $(node-y:%=$(O)/node/%.o)
NODE_LIB      := $(O)/libtpkit-node.a
NODE          := $(O)/tpkit-node
NODE_TESTS    := journal node_conf migrate_plan migrate_files guard
NODE_UNIT_BINS := $(NODE_TESTS:%=$(O)/tests/unit/test_%)

# Unit tests, selected like the objects they test (tests/unit/test_NAME.c).
# A test not named here needs only what every configuration builds.
tests-y :=
tests-$(CONFIG_TPKIT_RK1) += crc16 ldr maskrom rockusb rockusb_proto
tests-$(CONFIG_TPKIT_CM4) += rpiboot_proto
tests-$(CONFIG_TPKIT_SEED) += seed_io seed_fs seed seed_yaml
tests-$(CONFIG_TPKIT_CMD_SERVE) += serve_auth serve_query
tests-$(CONFIG_TPKIT_REMOTE) += ws_wire
tests-$(CONFIG_TPKIT_CMD_COMMISSION) += commission_state commission_plan commission_monitor commission_live
# These write their fixtures with libarchive; without it, decode_noarchive
# checks the refusals instead.
tests-$(CONFIG_TPKIT_ARCHIVE) += decode rpiboot_files
tests-$(if $(CONFIG_TPKIT_ARCHIVE),n,y) += decode_noarchive
tests-y += $(filter-out $(tests-y) $(tests-) $(tests-n),$(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c)))
UNIT_BINS  := $(tests-y:%=$(O)/tests/unit/test_%)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/tests/fuzz/%)
FUZZ_TIME  ?= 60
TWIN_SRCS  := $(wildcard tests/twin/*.c tests/twin/node/*.c)
TWIN       := $(O)/tests/twin/tp-twin
TWIN_IO    := $(O)/tests/twin/libtp-twin-io.so
MKLDR      := $(O)/tests/tools/mkldr
REPORT_LINE := $(O)/tests/tools/report_line

# ---- flags -----------------------------------------------------------------
OPT      ?= -O2
# snprintf is used to truncate messages and names safely, on purpose: gcc's
# truncation warning would flag every such use, so it is off.
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	    -Wno-missing-field-initializers -Wno-format-truncation
# clang (the fuzz build) does not know gcc's -Wno-format-truncation.
ifneq ($(findstring clang,$(CC)),)
WARN     += -Wno-unknown-warning-option
endif
# CI treats warnings as errors (.ci/run sets CI=true); WERROR=0 overrides.
ifeq ($(CI),true)
WERROR ?= 1
endif
ifeq ($(WERROR),1)
WARN     += -Werror
endif
ifeq ($(SANITIZE),1)
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer
endif
ifeq ($(SANITIZE),thread)
SAN      := -fsanitize=thread
endif
# The fuzz build (make fuzz): clang's libFuzzer instrumentation, ASan, and
# UBSan that stops at the first finding.
ifeq ($(SANITIZE),fuzz)
SAN      := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
endif
PKG_CFLAGS = $(if $(strip $(pkgs-y)),$(shell $(PKG) --cflags $(pkgs-y)))
# Kconfig TPKIT_STATIC_LIBS: those from their .a (with what they need in
# turn), the rest shared.
static-pkgs := $(filter $(subst ",,$(CONFIG_TPKIT_STATIC_LIBS)),$(pkgs-y))
shared-pkgs := $(filter-out $(static-pkgs),$(pkgs-y))
LD_STATIC  := -Wl,-Bstatic
LD_DYNAMIC := -Wl,-Bdynamic
# CivetWeb ships no pkg-config file (Debian, Buildroot); crypt(3) is libc's
# or libxcrypt's -lcrypt.
libs-$(CONFIG_TPKIT_CMD_SERVE) += -lcivetweb -lcrypt -lpthread
PKG_LIBS   = $(if $(strip $(shared-pkgs)),$(shell $(PKG) --libs $(shared-pkgs))) \
	$(if $(strip $(static-pkgs)),$(LD_STATIC) $(shell $(PKG) --static --libs $(static-pkgs)) $(LD_DYNAMIC)) \
	$(libs-y)
CFLAGS   ?= $(OPT) -g
# 64-bit off_t and time_t on the 32-bit BMC: images are larger than 2 GiB,
# and 32-bit readdir() fails with EOVERFLOW on 64-bit directory offsets.
LFS_CFLAGS := -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
ALL_CFLAGS = -std=gnu11 $(LFS_CFLAGS) $(WARN) $(ARCH_CFLAGS) $(SAN) $(CFLAGS) -I. -I$(O)/include \
	     -include $(AUTOCONF_H) -DTPKIT_VERSION='"$(TPKIT_VERSION)"' $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(ARCH_LDFLAGS) $(SAN) $(LDFLAGS)

# Debian's CivetWeb looks OpenSSL up at run time and misses a function that
# OpenSSL 3 has only as a macro: tpkit serve loads a shim that supplies it
# (bmc/serve/sslcompat.c says how). A CivetWeb linked with OpenSSL, as
# Buildroot's, has no such lookup and gets no shim.
ifeq ($(CONFIG_TPKIT_CMD_SERVE),y)
CIVETWEB_LIB    := $(shell $(CC) $(ARCH_CFLAGS) -print-file-name=libcivetweb.so)
CIVETWEB_SSL_DL := $(shell grep -qs SSL_get_peer_certificate $(CIVETWEB_LIB) && echo y)
endif
SSLCOMPAT := $(if $(CIVETWEB_SSL_DL),$(O)/libtpkit-sslcompat.so)

# ---- rules -----------------------------------------------------------------
.PHONY: all node check-node-unit check-node-cross tests unit check check-run check-vm check-unit check-cross check-configs demo demo-flash deps ci nodeimg install install-strip man json-doc \
	fuzz fuzz-bins fuzz-run \
	defconfig menuconfig savedefconfig olddefconfig clean distclean help
.DEFAULT_GOAL := all

ifeq ($(TPKIT_ARCH),aarch64)
all: $(NODE)
else
all: $(TPKIT) $(NODE) $(SSLCOMPAT)
endif

node: $(NODE)

$(NODE_LIB): $(NODE_LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(NODE): $(O)/node/main.o $(NODE_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) $(NODE_LDFLAGS) $< $(NODE_LIB) -o $@ $(NODE_LIBS)

# The node helper's unit tests link its library, not the BMC's.
$(NODE_UNIT_BINS): $(O)/tests/unit/%: $(O)/tests/unit/%.o $(NODE_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) $< $(NODE_LIB) -o $@ $(shell $(PKG) --libs libcrypto cmocka)

$(KCONFIG_OUT):
	@mkdir -p $(O)
	@echo "  DEFCONFIG configs/$(DEFCONFIG)"
	$(Q)$(KCONFIG_ENV) $(PYTHON) -m defconfig --kconfig Kconfig configs/$(DEFCONFIG) >/dev/null

$(AUTOCONF_MK) $(AUTOCONF_H): $(KCONFIG_OUT) Kconfig
	@mkdir -p $(dir $(AUTOCONF_H)) $(dir $(AUTOCONF_MK))
	@echo "  GENCONFIG $(AUTOCONF_H)"
	$(Q)$(KCONFIG_ENV) $(PYTHON) -m genconfig --header-path $(AUTOCONF_H) \
		--config-out $(AUTOCONF_MK) Kconfig

defconfig:
	@mkdir -p $(O)
	$(Q)$(KCONFIG_ENV) $(PYTHON) -m defconfig --kconfig Kconfig configs/$(DEFCONFIG)

olddefconfig:
	@mkdir -p $(O)
	$(Q)$(KCONFIG_ENV) $(PYTHON) -m olddefconfig Kconfig

menuconfig:
	@mkdir -p $(O)
	$(Q)$(KCONFIG_ENV) $(PYTHON) -m menuconfig Kconfig

savedefconfig: $(KCONFIG_OUT)
	$(Q)$(KCONFIG_ENV) $(PYTHON) -m savedefconfig --kconfig Kconfig --out $(O)/defconfig
	@echo "  wrote $(O)/defconfig (copy it to configs/ to keep it)"

$(O)/%.o: %.c $(AUTOCONF_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(TPKIT): $(BMC_OBJS) $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) $(BMC_OBJS) $(LIB) -o $@ $(PKG_LIBS)

$(O)/libtpkit-sslcompat.so: bmc/serve/sslcompat.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) -std=gnu11 $(WARN) $(ARCH_CFLAGS) $(CFLAGS) $(ALL_LDFLAGS) -shared -fPIC $< -o $@ \
		-Wl,-soname,libssl.so $(shell $(PKG) --libs libssl)

# Unit tests link the library, so they test the objects that ship.
$(O)/tests/unit/%: $(O)/tests/unit/%.o $(LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) $(filter %.o,$^) $(LIB) -o $@ $(PKG_LIBS) $(shell $(PKG) --libs cmocka)

# These link the helpers they share too (tests/unit/testutil.c).
TESTUTIL_TESTS := commission_live commission_state commission_monitor commission_plan
$(TESTUTIL_TESTS:%=$(O)/tests/unit/test_%): $(O)/tests/unit/testutil.o

$(O)/tests/unit/%.o: tests/unit/%.c $(AUTOCONF_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(shell $(PKG) --cflags cmocka) -c $< -o $@
# Kept: as intermediates of the rule above make would delete them, and
# compile every unit test again at each make invocation.
.SECONDARY: $(UNIT_BINS:=.o) $(NODE_UNIT_BINS:=.o) $(O)/tests/unit/testutil.o

# The twin is a test program for the build machine; it is never cross-built.
# ext2fs: node VMs read kernels out of ext4 (tests/twin/node/disk.c).
# fuse3: the BMC's configfs (tests/twin/twin_configfs.c).
TWIN_PKGS := glib-2.0 gio-unix-2.0 zlib umockdev-1.0 ext2fs com_err fuse3
$(TWIN): $(TWIN_SRCS) $(wildcard tests/twin/*.h tests/twin/node/*.h)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) -std=gnu11 $(WARN) $(SAN) $(CFLAGS) $(TWIN_SRCS) -o $@ \
		$(shell $(PKG) --cflags --libs $(TWIN_PKGS))

# The twin's I/O counter, preloaded into its command (docs/twin.md, "Timing
# model of the disk"); no sanitizer, as it goes into any program.
$(TWIN_IO): tests/twin/preload/twin_iocount.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) -std=gnu11 $(WARN) $(CFLAGS) -shared -fPIC $< -o $@ -ldl

# Synthetic LDR loader files for tests (protocols.md §3); native only, like
# the twin, and standalone so that it checks the parser rather than mirrors it.
$(MKLDR): tests/tools/mkldr.c
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) -std=gnu11 $(WARN) $(SAN) $(CFLAGS) $< -o $@

# Node report lines for tests (docs/report-protocol.md), made and verified
# by the library's own code, as the node helper makes them. It links the
# node's library (common/report.o is in it), so the aarch64 build has it
# too for test 150 under qemu-aarch64.
$(REPORT_LINE): tests/tools/report_line.c $(NODE_LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(NODE_LDFLAGS) $< $(NODE_LIB) -o $@ $(NODE_LIBS)

# Upstream rpiboot, a real peer for the CM4 tests (docs/twin.md, "Simulated
# CM4"): built from a copy of ../shared/peers/usbboot/src (never part of
# tpkit), once, into the build directory.
USBBOOT_SRC ?= ../shared/peers/usbboot/src
RPIBOOT_PEER := $(O)/tests/peers/rpiboot
$(RPIBOOT_PEER): $(wildcard $(USBBOOT_SRC)/*.c $(USBBOOT_SRC)/*.h $(USBBOOT_SRC)/Makefile)
	@echo "  PEER    $@ (upstream usbboot)"
	$(Q)rm -rf $(O)/tests/peers/usbboot && mkdir -p $(O)/tests/peers/usbboot && \
		cp -r $(USBBOOT_SRC)/. $(O)/tests/peers/usbboot/ && chmod -R u+w $(O)/tests/peers/usbboot && \
		$(MAKE) -s -C $(O)/tests/peers/usbboot rpiboot CFLAGS=-O2 >/dev/null && \
		cp $(O)/tests/peers/usbboot/rpiboot $@

unit: $(UNIT_BINS)

# libFuzzer targets (tests/fuzz/): built by `make fuzz` only, with clang.
$(O)/tests/fuzz/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $< $(LIB) -o $@ $(PKG_LIBS)

fuzz-bins: $(FUZZ_BINS) $(MKLDR)

fuzz-run: fuzz-bins
	$(Q)tests/fuzz/run.sh --time $(FUZZ_TIME) $(O)

# Each target FUZZ_TIME seconds (default 60) in build-fuzz/; findings go to
# build-fuzz/fuzz/crash/, the growing corpus stays in build-fuzz/fuzz/corpus/.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory O=build-fuzz CC=clang SANITIZE=fuzz fuzz-run

tests: $(TPKIT) $(NODE) $(SSLCOMPAT) $(UNIT_BINS) $(if $(filter native,$(TPKIT_ARCH)),$(TWIN) $(TWIN_IO) $(MKLDR) $(REPORT_LINE) \
	$(if $(wildcard $(USBBOOT_SRC)/main.c),$(RPIBOOT_PEER)))

# check and demo install what is missing first, then configure and build.
deps:
	$(Q)scripts/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory check-run

check-run: tests
	$(Q)tests/run.sh $(O)

# Real node VMs booting test images under the twin (docs/twin.md, "Nodes
# that boot"): minutes of CPU, so never part of check.
check-vm: tests
	$(Q)tests/run.sh --vm $(O)

# Unit tests of a cross build, under qemu-user.
check-unit: $(UNIT_BINS)
	$(Q)tests/run.sh --unit-only --runner "$(QEMU)" $(O)

# The node helper's aarch64 build: its unit tests, and the static binary
# itself through the fake-root tests 150, 151 and 152, under qemu-aarch64.
check-node-unit: $(NODE) $(NODE_UNIT_BINS) $(REPORT_LINE)
	$(Q)TPKIT_NODE_RUNNER="$(QEMU_BIN)" tests/run.sh --runner "$(QEMU)" --filter '15[012]_*' $(O)

check-node-cross: deps
	$(Q)$(MAKE) --no-print-directory TPKIT_ARCH=aarch64 check-node-unit

check-cross: deps
	$(Q)$(MAKE) --no-print-directory TPKIT_ARCH=armel check-unit
	$(Q)$(MAKE) --no-print-directory TPKIT_ARCH=armhf check-unit

# Every configs/host_*_defconfig but the default, each built into
# build-NAME (the whole program and its unit tests, from a fresh .config)
# and unit-tested: a module or command left out must still build and link.
# Kconfig drops a symbol whose dependencies are not met without a word, so
# every symbol a defconfig sets must also be set in the .config it gives.
CHECK_CONFIGS := $(filter-out host,$(patsubst configs/%_defconfig,%,$(wildcard configs/host_*_defconfig)))
check-configs:
	$(Q)set -e; for c in $(CHECK_CONFIGS); do \
		echo "==== configs/$${c}_defconfig"; \
		$(MAKE) --no-print-directory O=build-$$c DEFCONFIG=$${c}_defconfig defconfig >/dev/null; \
		grep '^CONFIG_' configs/$${c}_defconfig | while read -r l; do \
			grep -qxF "$$l" build-$$c/.config || \
				{ echo "configs/$${c}_defconfig: $$l is not met by Kconfig's dependencies" >&2; exit 1; }; \
		done; \
		$(MAKE) --no-print-directory O=build-$$c DEFCONFIG=$${c}_defconfig all check-unit; \
	done

demo: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)scripts/demo.sh $(O)

# The flashing demo: four slots at once, --image auto, no node booted.
demo-flash: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)scripts/demo-flash.sh $(O)

ci:
	$(Q)bash .ci/run

# The twin nodes' boot images (docs/nodeimg.md); slow, so not part of check.
nodeimg:
	$(Q)tests/twin/nodeimg/build.sh
	$(Q)tests/twin/nodeimg/prune.sh "$$(tests/twin/nodeimg/build.sh --print-dir)"

PREFIX  ?= /usr
# The catalogue and the modules' files go where the binary looks for them
# (Kconfig TPKIT_DATADIR), whatever PREFIX is: PREFIX places the program,
# its man pages and completion only.
DATADIR ?= $(patsubst "%",%,$(CONFIG_TPKIT_DATADIR))
# Where the binary tells the user the documents are (Kconfig).
DOCDIR ?= $(patsubst "%",%,$(CONFIG_TPKIT_DOCDIR))
# The node helper seeding installs on RK1 and CM4 (docs/seeding.md §8):
# the static aarch64 build, when it has been built (make TPKIT_ARCH=aarch64 node).
NODE_HELPER_AARCH64 ?= build-aarch64/tpkit-node
# Man pages from the --help texts, one source for both (scripts/mkman.sh);
# a cross build's binary runs under qemu-user for it.
MAN := $(O)/man/tpkit.1
# docs/json.md's reference, from the schema it describes (docs/json.md).
json-doc:
	$(Q)scripts/mkjsondoc.py

man: $(MAN)
$(MAN): $(TPKIT) scripts/mkman.sh
	$(Q)rm -rf $(O)/man
	$(Q)RUNNER="$(QEMU)" scripts/mkman.sh $(TPKIT) $(O)/man

# MAN_PAGES= installs without them (a build with no way to run the binary).
MAN_PAGES ?= $(O)/man
install: $(TPKIT) $(SSLCOMPAT) $(if $(MAN_PAGES),$(MAN))
	$(Q)scripts/install.sh $(TPKIT) "$(DESTDIR)" $(PREFIX) $(DATADIR) $(DOCDIR) "$(MAN_PAGES)" \
		$(NODE_HELPER_AARCH64)
	$(if $(SSLCOMPAT),$(Q)install -D -m 0644 $(SSLCOMPAT) \
		$(DESTDIR)$(PREFIX)/lib/tpkit/libtpkit-sslcompat.so)

# install, then the program stripped of its symbols (the BMC's flash is small).
install-strip: install
	$(CROSS_COMPILE)strip $(DESTDIR)$(PREFIX)/bin/tpkit

clean:
	rm -rf $(O)

distclean:
	rm -rf build build-*

help:
	@sed -n '3,16p' Makefile

-include $(LIB_OBJS:.o=.d) $(BMC_OBJS:.o=.d) $(NODE_LIB_OBJS:.o=.d) $(O)/node/main.d $(UNIT_BINS:=.d) $(O)/tests/unit/testutil.d $(FUZZ_BINS:=.d)
