################################################################################
#
# tpkit
#
################################################################################

# The tree this BR2_EXTERNAL lives in (board/turingpi2/buildroot/), built
# in place: BR2_EXTERNAL=/path/to/tpkit/board/turingpi2/buildroot.
TPKIT_VERSION = 0.1.0
TPKIT_SITE = $(BR2_EXTERNAL_TPKIT_PATH)/../../..
TPKIT_SITE_METHOD = local
TPKIT_LICENSE = MIT
TPKIT_DEPENDENCIES = host-pkgconf libusb libcurl libarchive libgpiod openssl xz zlib e2fsprogs \
	civetweb json-c

# tpkit's Makefile (README "Build for the BMC"): the cross compiler's
# prefix picks armel or armhf, SYSROOT the staging directory, whose
# Buildroot layout (usr/lib/pkgconfig) the Makefile recognises. No man
# pages: they are made by running the program, which a cross build cannot
# do without qemu-user (make man).
TPKIT_MAKE_OPTS = \
	CROSS_COMPILE="$(TARGET_CROSS)" \
	SYSROOT="$(STAGING_DIR)" \
	PKG_CONFIG="$(PKG_CONFIG_HOST_BINARY)" \
	O="$(@D)/build" \
	MAN_PAGES=

define TPKIT_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(TPKIT_MAKE_OPTS) all
endef

define TPKIT_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D) $(TPKIT_MAKE_OPTS) \
		DESTDIR="$(TARGET_DIR)" PREFIX=/usr install
endef

$(eval $(generic-package))
