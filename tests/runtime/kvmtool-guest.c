// SPDX-License-Identifier: GPL-2.0
/*
 * init of the arm64 guest that kvmtool runs in the real-clients suite
 * (tests/runtime.sh --suite clients): the guest kernel is the arm64 kernel
 * under test, run by lkvm inside the QEMU machine whose KVM it tests.
 *
 * It prints a marker, reads through kvmtool's devices (the virtio devices
 * kvmtool put on its PCI bus, found through PCI configuration space, and
 * bytes from its virtio-rng), and then stops the guest through PSCI: with
 * SYSTEM_OFF, or with SYSTEM_RESET when /stop in its initramfs says
 * "reset".  Every line starts with "ksa-guest: " so that the host tells it
 * from the host's own init ("ksa-init: ") and from kernel messages; the
 * last line before the stop is "ksa-guest: stopping with PSCI SYSTEM_OFF"
 * (or SYSTEM_RESET), printed only when every step passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>

static int failed;

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int len;

	len = snprintf(buf, sizeof(buf), "ksa-guest: ");
	va_start(ap, fmt);
	len += vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
	va_end(ap);
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	if (write(STDOUT_FILENO, buf, len) < 0)
		return;
}

static void check(int ok, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("%s %s", ok ? "ok" : "not ok", buf);
	if (!ok)
		failed++;
}

/* read_word PATH BUF SIZE: the first line of a small file, or "". */
static void read_word(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

/*
 * The virtio devices on kvmtool's PCI bus: vendor 0x1af4, read by the
 * kernel through the configuration space kvmtool emulates.
 */
static int virtio_pci_devices(void)
{
	char path[512], vendor[32], device[32];
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		read_word(path, vendor, sizeof(vendor));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		read_word(path, device, sizeof(device));
		say("# PCI %s: vendor %s device %s", e->d_name, vendor, device);
		if (!strcmp(vendor, "0x1af4"))
			n++;
	}
	closedir(d);
	return n;
}

/* Bytes from the virtio-rng: kvmtool fills the buffers from the host. */
static void read_rng(void)
{
	unsigned char buf[64];
	char name[64];
	size_t got = 0, i, nonzero = 0;
	int fd;

	read_word("/sys/class/misc/hw_random/rng_current", name, sizeof(name));
	say("# hw_random: %s", name[0] ? name : "(none)");
	check(!strncmp(name, "virtio_rng", 10), "the hardware RNG is kvmtool's virtio-rng");
	fd = open("/dev/hwrng", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		check(0, "reads 64 bytes from /dev/hwrng (open: %s)", strerror(errno));
		return;
	}
	while (got < sizeof(buf)) {
		ssize_t r = read(fd, buf + got, sizeof(buf) - got);

		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	for (i = 0; i < got; i++)
		nonzero += buf[i] != 0;
	check(got == sizeof(buf) && nonzero, "reads 64 bytes from /dev/hwrng (%zu bytes, %zu not zero)",
	      got, nonzero);
}

int main(void)
{
	struct utsname u;
	char stop[32];
	int reset, n;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	uname(&u);
	say("hello from the arm64 guest: %s %s %s", u.sysname, u.release, u.machine);

	n = virtio_pci_devices();
	check(n >= 1, "kvmtool's virtio devices are on its PCI bus (%d)", n);
	read_rng();

	read_word("/stop", stop, sizeof(stop));
	reset = !strcmp(stop, "reset");
	if (failed) {
		/* No marker: the host sees the failure even if the stop works. */
		say("%d checks failed", failed);
	} else {
		say("stopping with PSCI %s", reset ? "SYSTEM_RESET" : "SYSTEM_OFF");
	}
	sync();
	/* On arm64 these are PSCI SYSTEM_RESET and SYSTEM_OFF calls. */
	reboot(reset ? RB_AUTOBOOT : RB_POWER_OFF);
	say("reboot: %s", strerror(errno));
	for (;;)
		pause();
}
