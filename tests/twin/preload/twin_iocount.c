// SPDX-License-Identifier: MIT
/*
 * libtp-twin-io.so: what the nodes' disks move, for tp-twin's timing model
 * (docs/twin.md, "Timing model of the disk"). tp-twin preloads it into the
 * command, before umockdev's preload. A simulated /dev/sdX is a link to the
 * slot's eMMC file, read and written with plain file I/O the twin cannot
 * see; this library counts the bytes of every read and write on a
 * descriptor opened through such a /dev/sdX, per slot, into a shared file
 * the twin reads before it answers a request: as the kernel's block layer
 * would see them go over USB. It changes nothing the program sees.
 *
 * Environment (set by tp-twin): TP_TWIN_IO=FILE (the counters: per slot
 * 1..4, bytes read and bytes written, uint64) and TP_TWIN_DISKS="N:DEV:INO
 * ..." (each CM4 or RK1 slot's eMMC file: a CM4's payload and an RK1's
 * loader, through rockusb.ko, both make it a /dev/sdX).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define IO_SLOTS	5	/* index 1..4 */
#define IO_FDS		4096

static uint64_t (*io_count)[2];		/* [slot][0 read, 1 written] */
static unsigned char io_fd_slot[IO_FDS];
static struct { unsigned slot; dev_t dev; ino_t ino; } io_disk[IO_SLOTS];
static unsigned io_ndisks;

__attribute__((constructor)) static void io_init(void)
{
	const char *file = getenv("TP_TWIN_IO"), *disks = getenv("TP_TWIN_DISKS");
	int (*real_open)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	unsigned long long dev, ino;
	unsigned slot;
	int n, fd;

	if (!file || !disks || !real_open)
		return;
	while (io_ndisks < IO_SLOTS &&
	       sscanf(disks, "%u:%llu:%llu%n", &slot, &dev, &ino, &n) == 3) {
		io_disk[io_ndisks].slot = slot;
		io_disk[io_ndisks].dev = (dev_t)dev;
		io_disk[io_ndisks].ino = (ino_t)ino;
		io_ndisks++;
		disks += n;
		while (*disks == ' ')
			disks++;
	}
	fd = real_open(file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	io_count = mmap(NULL, sizeof(uint64_t) * 2 * IO_SLOTS, PROT_READ | PROT_WRITE,
			MAP_SHARED, fd, 0);
	if (io_count == MAP_FAILED)
		io_count = NULL;
	close(fd);
}

/* A descriptor just opened at PATH: one of the disks, through /dev/sdX? */
static int io_track(int fd, const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	struct stat st;

	if (fd < 0 || fd >= IO_FDS || !io_count)
		return fd;
	io_fd_slot[fd] = 0;
	if (!base || strncmp(base, "/sd", 3) || !strstr(path, "/dev/") || fstat(fd, &st))
		return fd;
	for (unsigned i = 0; i < io_ndisks; i++)
		if (io_disk[i].dev == st.st_dev && io_disk[i].ino == st.st_ino)
			io_fd_slot[fd] = (unsigned char)io_disk[i].slot;
	return fd;
}

static ssize_t io_add(int fd, int written, ssize_t n)
{
	if (n > 0 && fd >= 0 && fd < IO_FDS && io_fd_slot[fd] && io_count)
		__atomic_fetch_add(&io_count[io_fd_slot[fd]][written], (uint64_t)n,
				   __ATOMIC_RELAXED);
	return n;
}

#define REAL(ret, name, ...) \
	static ret (*real)(__VA_ARGS__); \
	if (!real) \
		real = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

/* glibc's fortified entry points (bits/fcntl2.h), declared only there. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

static mode_t io_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	REAL(int, "open", const char *, int, ...);

	va_start(ap, flags);
	mode = io_mode(flags, ap);
	va_end(ap);
	return io_track(real(path, flags, mode), path);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	REAL(int, "open64", const char *, int, ...);

	va_start(ap, flags);
	mode = io_mode(flags, ap);
	va_end(ap);
	return io_track(real(path, flags, mode), path);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	REAL(int, "openat", int, const char *, int, ...);

	va_start(ap, flags);
	mode = io_mode(flags, ap);
	va_end(ap);
	return io_track(real(dirfd, path, flags, mode), path);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	REAL(int, "openat64", int, const char *, int, ...);

	va_start(ap, flags);
	mode = io_mode(flags, ap);
	va_end(ap);
	return io_track(real(dirfd, path, flags, mode), path);
}

int __open_2(const char *path, int flags)
{
	REAL(int, "__open_2", const char *, int);
	return io_track(real(path, flags), path);
}

int __open64_2(const char *path, int flags)
{
	REAL(int, "__open64_2", const char *, int);
	return io_track(real(path, flags), path);
}

int close(int fd)
{
	REAL(int, "close", int);

	if (fd >= 0 && fd < IO_FDS)
		io_fd_slot[fd] = 0;
	return real(fd);
}

/* A copy of a descriptor is the same disk: coreutils dd opens of=FILE and
 * dup2()s it onto its standard output, as a shell does with a redirection
 * (F_DUPFD through fcntl is not followed). */
static int io_dup(int old, int fd)
{
	if (fd >= 0 && fd < IO_FDS)
		io_fd_slot[fd] = old >= 0 && old < IO_FDS ? io_fd_slot[old] : 0;
	return fd;
}

int dup(int old)
{
	REAL(int, "dup", int);
	return io_dup(old, real(old));
}

int dup2(int old, int fd)
{
	REAL(int, "dup2", int, int);
	return io_dup(old, real(old, fd));
}

int dup3(int old, int fd, int flags)
{
	REAL(int, "dup3", int, int, int);
	return io_dup(old, real(old, fd, flags));
}

ssize_t read(int fd, void *buf, size_t len)
{
	REAL(ssize_t, "read", int, void *, size_t);
	return io_add(fd, 0, real(fd, buf, len));
}

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(ssize_t, "write", int, const void *, size_t);
	return io_add(fd, 1, real(fd, buf, len));
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	REAL(ssize_t, "pread", int, void *, size_t, off_t);
	return io_add(fd, 0, real(fd, buf, len, off));
}

ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	REAL(ssize_t, "pread64", int, void *, size_t, off_t);
	return io_add(fd, 0, real(fd, buf, len, off));
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
	return io_add(fd, 1, real(fd, buf, len, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	REAL(ssize_t, "pwrite64", int, const void *, size_t, off_t);
	return io_add(fd, 1, real(fd, buf, len, off));
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
	REAL(ssize_t, "readv", int, const struct iovec *, int);
	return io_add(fd, 0, real(fd, iov, n));
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(ssize_t, "writev", int, const struct iovec *, int);
	return io_add(fd, 1, real(fd, iov, n));
}

ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	REAL(ssize_t, "preadv", int, const struct iovec *, int, off_t);
	return io_add(fd, 0, real(fd, iov, n, off));
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	REAL(ssize_t, "pwritev", int, const struct iovec *, int, off_t);
	return io_add(fd, 1, real(fd, iov, n, off));
}
