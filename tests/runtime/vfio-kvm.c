// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lifetime of a VM that VFIO uses, run by tests/runtime.sh on x86_64
 * under QEMU (TCG, -cpu max: kvm_amd with nested paging), as a plan step of
 * the project's init:
 *
 *   vfio-kvm MODULE-DIR
 *
 * It loads the modules from MODULE-DIR, binds vfio-pci (no-IOMMU mode) to
 * QEMU's pci-testdev, and then, three times: creates a VM and its KVM-VFIO
 * device, adds the VFIO group to that device, opens the VFIO device (which
 * makes VFIO take its reference to the VM) and closes everything in one of
 * three orders.  Each time the VM, seen through its debugfs directory and
 * the reference count of kvm_amd, must stay alive exactly as long as one of
 * the files holds it, removing kvm_amd must fail with EAGAIN while it does
 * and succeed afterwards.  kmemleak must then report nothing, and must
 * report the leaks of its sample module (so that it is seen to work).
 *
 * Output is TAP; the exit status is 0 when every test passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/vfio.h>

/* The names before Linux 6.6; the values are the same. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE	KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_FILE_ADD	KVM_DEV_VFIO_GROUP_ADD
#define KVM_DEV_VFIO_FILE_DEL	KVM_DEV_VFIO_GROUP_DEL
#endif

#define TESTDEV_VENDOR	"0x1b36"	/* Red Hat, QEMU's pci-testdev */
#define TESTDEV_DEVICE	"0x0005"
#define DEBUGFS		"/sys/kernel/debug"

static int tests, failed;
static const char *moddir;
static char bdf[256], group_path[300];

static void ok(bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", pass ? "" : "not ", ++tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!pass)
		failed++;
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static __attribute__((noreturn)) void bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int load(const char *file, const char *params)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", moddir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		ret = -errno;
	close(fd);
	return ret;
}

static int unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

/* The reference count of a module, or -1. */
static int refcnt(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return atoi(buf);
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* Whether PATH exists (or, with WANT false, is gone) within two seconds. */
static bool within_2s(const char *path, bool want)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 200 && exists(path) != want; i++)
		nanosleep(&ts, NULL);
	return exists(path) == want;
}

static bool gone(const char *path)
{
	return within_2s(path, false);
}

static void setup(void)
{
	static const struct { const char *file, *params; } mods[] = {
		{ "irqbypass.ko", "" },
		{ "kvm.ko", "" },
		{ "ccp.ko", "" },
		{ "kvm-amd.ko", "" },
		{ "vfio.ko", "enable_unsafe_noiommu_mode=1" },
		{ "vfio-pci-core.ko", "" },
		{ "vfio-pci.ko", "" },
	};
	char path[512], buf[64], link[256];
	struct dirent *de;
	unsigned int i;
	ssize_t n;
	DIR *d;
	int ret;

	if (mount("debugfs", DEBUGFS, "debugfs", 0, NULL) && errno != EBUSY)
		bail("mount debugfs: %s", strerror(errno));
	for (i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		ret = load(mods[i].file, mods[i].params);
		if (ret)
			bail("loading %s: %s", mods[i].file, strerror(-ret));
	}
	diag("loaded irqbypass, kvm, ccp, kvm_amd, vfio (no-IOMMU mode), vfio-pci");

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		bail("/sys/bus/pci/devices: %s", strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		if (read_file(path, buf, sizeof(buf)) || strcmp(buf, TESTDEV_VENDOR))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		if (read_file(path, buf, sizeof(buf)) || strcmp(buf, TESTDEV_DEVICE))
			continue;
		snprintf(bdf, sizeof(bdf), "%s", de->d_name);
		break;
	}
	closedir(d);
	if (!bdf[0])
		bail("no pci-testdev (%s:%s) on the PCI bus", TESTDEV_VENDOR, TESTDEV_DEVICE);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	ret = write_file(path, "vfio-pci");
	if (!ret)
		ret = write_file("/sys/bus/pci/drivers_probe", bdf);
	if (ret)
		bail("binding %s to vfio-pci: %s", bdf, strerror(-ret));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		bail("%s: %s (vfio-pci did not make a no-IOMMU group)", path, strerror(errno));
	link[n] = 0;
	snprintf(group_path, sizeof(group_path), "/dev/vfio/noiommu-%s", strrchr(link, '/') + 1);
	if (!within_2s(group_path, true))
		bail("%s did not appear", group_path);
	diag("pci-testdev %s bound to vfio-pci, group %s", bdf, group_path);
}

/* After a removal of kvm_amd, so that the next test has /dev/kvm. */
static void reload_kvm_amd(void)
{
	int ret = load("kvm-amd.ko", "");

	if (ret)
		bail("loading kvm-amd.ko again: %s", strerror(-ret));
}

/* Removing kvm_amd must fail while HOLDER keeps the VM. */
static void expect_pinned(const char *what, const char *holder)
{
	int ret = unload("kvm_amd");

	ok(ret == -EAGAIN, "%s: rmmod kvm_amd fails with EAGAIN while %s (%s)",
	   what, holder, strerror(-ret));
	if (!ret)
		reload_kvm_amd();
}

enum order { VM_FIRST, DEVICE_FIRST, FILE_DEL };
static const char *const order_name[] = {
	[VM_FIRST]	= "VM and KVM-VFIO device closed before the VFIO device",
	[DEVICE_FIRST]	= "VFIO device closed before the VM",
	[FILE_DEL]	= "group deleted from the KVM-VFIO device, then VM first",
};

static void lifetime(enum order order)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	struct kvm_device_attr attr = { .group = KVM_DEV_VFIO_FILE };
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int container, group, kvm, vm, dev, device, ret, before;
	const char *what = order_name[order];
	char dir[128];

	diag("%s", what);
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(group_path, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0)
		bail("opening /dev/vfio/vfio and %s: %s", group_path, strerror(errno));
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		bail("%s is not viable", group_path);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
		bail("no-IOMMU container: %s", strerror(errno));

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		bail("/dev/kvm: %s", strerror(errno));
	before = refcnt("kvm_amd");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		bail("KVM_CREATE_VM: %s", strerror(errno));
	snprintf(dir, sizeof(dir), DEBUGFS "/kvm/%d-%d", getpid(), vm);
	ok(exists(dir), "%s: the VM has its debugfs directory %s", what, dir);
	if (ioctl(vm, KVM_CREATE_DEVICE, &cd))
		bail("KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO): %s", strerror(errno));
	dev = cd.fd;
	attr.attr = KVM_DEV_VFIO_FILE_ADD;
	attr.addr = (unsigned long)&group;
	ok(!ioctl(dev, KVM_SET_DEVICE_ATTR, &attr), "%s: KVM_DEV_VFIO_FILE_ADD of the group", what);
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		bail("VFIO_GROUP_GET_DEVICE_FD %s: %s", bdf, strerror(errno));
	ok(refcnt("kvm_amd") > before, "%s: the VM holds kvm_amd (refcnt %d, %d before it)",
	   what, refcnt("kvm_amd"), before);

	switch (order) {
	case FILE_DEL:
		attr.attr = KVM_DEV_VFIO_FILE_DEL;
		ok(!ioctl(dev, KVM_SET_DEVICE_ATTR, &attr), "%s: KVM_DEV_VFIO_FILE_DEL of the group", what);
		/* fall through */
	case VM_FIRST:
		close(vm);
		close(dev);
		close(kvm);
		ok(exists(dir), "%s: the VFIO device keeps the VM alive", what);
		expect_pinned(what, "VFIO holds the VM");
		close(device);
		break;
	case DEVICE_FIRST:
		close(device);
		ok(exists(dir), "%s: the VM lives on without the VFIO device", what);
		expect_pinned(what, "the VM is open");
		close(dev);
		ok(exists(dir), "%s: the VM fd keeps the VM alive", what);
		close(vm);
		close(kvm);
		break;
	}
	ok(gone(dir), "%s: the VM is destroyed after the last close", what);
	ok(refcnt("kvm_amd") == 0, "%s: kvm_amd is no longer held (refcnt %d)", what, refcnt("kvm_amd"));
	close(group);
	close(container);

	ret = unload("kvm_amd");
	ok(!ret, "%s: rmmod kvm_amd succeeds afterwards (%s)", what, strerror(-ret));
	if (!ret)
		reload_kvm_amd();
}

/*
 * Two scans once everything allocated so far is older than kmemleak's 5 s
 * (younger objects are not reported, nor are ones whose contents changed
 * since the last scan).
 */
static int kmemleak_scan(void)
{
	int ret;

	sleep(6);
	ret = write_file(DEBUGFS "/kmemleak", "scan");
	if (!ret)
		ret = write_file(DEBUGFS "/kmemleak", "scan");
	return ret;
}

/* kmemleak's report of what it found since the last "clear". */
static int kmemleak_report(char *buf, size_t len)
{
	int fd, ret;
	ssize_t n;

	ret = kmemleak_scan();
	if (ret)
		return ret;
	fd = open(DEBUGFS "/kmemleak", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static void print_report(const char *buf)
{
	const char *p = buf, *nl;
	int lines = 0;

	while (*p && lines++ < 60) {
		nl = strchrnul(p, '\n');
		printf("#   %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

int main(int argc, char **argv)
{
	static char report[65536];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MODULE-DIR\n", argv[0]);
		return 2;
	}
	moddir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	setup();

	/* What boot, the module loads and the bind left is not the test's. */
	if (kmemleak_scan() || write_file(DEBUGFS "/kmemleak", "clear"))
		bail("kmemleak is not available in %s", DEBUGFS);

	lifetime(VM_FIRST);
	lifetime(DEVICE_FIRST);
	lifetime(FILE_DEL);

	ret = kmemleak_report(report, sizeof(report));
	ok(!ret && !report[0], "kmemleak reports no leak (%s)",
	   ret ? strerror(-ret) : report[0] ? "see below" : "two scans");
	if (report[0])
		print_report(report);

	/* The check above can fail: kmemleak finds its sample's leaks. */
	ret = write_file(DEBUGFS "/kmemleak", "clear");
	if (!ret)
		ret = load("kmemleak-test.ko", "");
	if (!ret)
		ret = unload("kmemleak_test");
	if (!ret)
		ret = kmemleak_report(report, sizeof(report));
	ok(!ret && strstr(report, "unreferenced object"),
	   "kmemleak reports the leaks of samples/kmemleak (%s)",
	   ret ? strerror(-ret) : "the check above can fail");

	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
