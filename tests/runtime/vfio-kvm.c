// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lifetime of a VM that VFIO uses, run by tests/runtime.sh on x86_64
 * under QEMU (TCG, -cpu max: kvm_amd with nested paging), as a plan step of
 * the project's init:
 *
 *   vfio-kvm MODULE-DIR
 *
 * It loads the modules from MODULE-DIR, binds vfio-pci (no-IOMMU mode) to
 * QEMU's pci-testdev and creates an mdev of the mtty sample (whose VFIO
 * device has a cdev: v7.1.8 gives no-IOMMU devices none).  Then, once per
 * scenario, it creates VMs and their KVM-VFIO devices, links VFIO files to
 * them, opens the VFIO device (through its group, or by binding its cdev to
 * iommufd: either makes VFIO take its reference to the VM) and closes the
 * files in the scenario's order.  At every stage the reference count of
 * kvm_amd must be exactly the number of files that hold it (the /dev/kvm,
 * VM and KVM-VFIO device files each hold their module while they live, and
 * so does the VM reference file that the KVM-VFIO device creates and VFIO
 * holds while a device uses the VM),
 * the VM, seen through its debugfs directory, must live exactly as long as
 * a file holds it, and removing kvm_amd must fail with EAGAIN while one
 * does and succeed afterwards.  The last two scenarios bind the cdev a
 * second time while it is bound, which must fail and change nothing.
 * kmemleak must then report nothing, and must report the leaks of its
 * sample module (so that it is seen to work).
 *
 * Before the scenarios, with kvm_amd loaded, it checks /dev/kvm as v7.1.8
 * makes it (the misc device "kvm", 10:232, mode 0600 as devtmpfs makes it,
 * root's) and that /dev/kvm reports KVM_CAP_COALESCED_MMIO and
 * KVM_CAP_COALESCED_PIO: the series makes the device name and MMIO support
 * properties of each KVM implementation, and x86_64's must not change.
 *
 * The same binary runs on the base kernel, which is expected to fail the
 * checks that count or need the VM reference file (VFIO held struct kvm and
 * kvm.ko there, so nothing held kvm_amd once the VM's own files were
 * closed) and the second bind (see tests/runtime.sh).
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
#include <sys/sysmacros.h>
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

/* The device cdev's iommufd binding (Linux 6.6), missing in older headers. */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32		argsz;
	__u32		flags;
	__s32		iommufd;
	__u32		out_devid;
	__aligned_u64	token_uuid_ptr;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#define MTTY_UUID	"83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

#define TESTDEV_VENDOR	"0x1b36"	/* Red Hat, QEMU's pci-testdev */
#define TESTDEV_DEVICE	"0x0005"
#define DEBUGFS		"/sys/kernel/debug"

static int tests, failed;
static const char *moddir;
static char bdf[256], group_path[300], cdev_path[300];

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
		{ "iommufd.ko", "" },
		{ "vfio.ko", "enable_unsafe_noiommu_mode=1" },
		{ "vfio-pci-core.ko", "" },
		{ "vfio-pci.ko", "" },
		{ "mdev.ko", "" },
		{ "mtty.ko", "" },
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
	diag("loaded irqbypass, kvm, ccp, kvm_amd, iommufd, vfio (no-IOMMU mode), vfio-pci, mdev, mtty");

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

	/* An mtty mdev: a VFIO device with a cdev that binds to iommufd. */
	ret = -ENOENT;
	d = opendir("/sys/class/mdev_bus");
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path),
			 "/sys/class/mdev_bus/%s/mdev_supported_types/mtty-1/create", de->d_name);
		if (exists(path)) {
			ret = write_file(path, MTTY_UUID);
			break;
		}
	}
	if (d)
		closedir(d);
	if (ret)
		bail("creating an mtty mdev: %s", strerror(-ret));
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vfio-dev", MTTY_UUID);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			snprintf(cdev_path, sizeof(cdev_path), "/dev/vfio/devices/%s", de->d_name);
	if (d)
		closedir(d);
	if (!cdev_path[0])
		bail("%s: no VFIO device of the mdev", path);
	if (!within_2s(cdev_path, true))
		bail("%s did not appear", cdev_path);
	diag("mtty mdev %s, VFIO device cdev %s", MTTY_UUID, cdev_path);
}

/* After a removal of kvm_amd, so that the next test has /dev/kvm. */
static void reload_kvm_amd(void)
{
	int ret = load("kvm-amd.ko", "");

	if (ret)
		bail("loading kvm-amd.ko again: %s", strerror(-ret));
}

/*
 * Removing kvm_amd must fail while HOLDER keeps the VM.  Where nothing
 * holds kvm_amd (the base: there VFIO pinned kvm.ko only), the removal is
 * not tried, but fails the check: it would succeed under the live VM, whose
 * destruction then uses what kvm_amd's removal freed (on v7.1.8, a KASAN
 * use-after-free of the VM's debugfs dentry in kvm_put_kvm(), then a NULL
 * pointer dereference that leaves the kernel unusable for the rest of the
 * test).
 */
static void expect_pinned(const char *what, const char *holder)
{
	int n = refcnt("kvm_amd"), ret;

	if (n == 0) {
		ok(false, "%s: rmmod kvm_amd fails with EAGAIN while %s (not tried: refcnt 0, it would remove kvm_amd under the VM)",
		   what, holder);
		return;
	}
	ret = unload("kvm_amd");
	ok(ret == -EAGAIN, "%s: rmmod kvm_amd fails with EAGAIN while %s (%s)",
	   what, holder, strerror(-ret));
	if (!ret)
		reload_kvm_amd();
}

/*
 * The files that hold kvm_amd while a VM with a KVM-VFIO device is open,
 * and once only VFIO holds the VM.
 */
#define HELD_BY_VM	"/dev/kvm, the VM, the KVM-VFIO device and its VM reference file"
#define HELD_BY_VFIO	"the VM reference file that VFIO holds"

/* kvm_amd is held by exactly WANT files, the ones HOLDERS names. */
static void expect_count(const char *what, int want, const char *holders)
{
	int n = refcnt("kvm_amd");

	ok(n == want, "%s: kvm_amd's reference count is %d, from %s (refcnt %d)",
	   what, want, holders, n);
}

/* The end of every scenario: nothing holds the VM or kvm_amd any more. */
static void expect_released(const char *what, const char *dir)
{
	int ret;

	ok(gone(dir), "%s: the VM is destroyed after the last close", what);
	expect_count(what, 0, "nothing");
	ret = unload("kvm_amd");
	ok(!ret, "%s: rmmod kvm_amd succeeds afterwards (%s)", what, strerror(-ret));
	if (!ret)
		reload_kvm_amd();
}

struct vm {
	int fd, dev;
	char dir[128];
};

/* A VM and its KVM-VFIO device. */
static void create_vm(const char *what, int kvm, struct vm *vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

	vm->fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		bail("KVM_CREATE_VM: %s", strerror(errno));
	snprintf(vm->dir, sizeof(vm->dir), DEBUGFS "/kvm/%d-%d", getpid(), vm->fd);
	ok(exists(vm->dir), "%s: the VM has its debugfs directory", what);
	if (ioctl(vm->fd, KVM_CREATE_DEVICE, &cd))
		bail("KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO): %s", strerror(errno));
	vm->dev = cd.fd;
}

/* KVM_DEV_VFIO_FILE_ADD or _DEL of the VFIO file FD on the KVM-VFIO device. */
static int file_attr(int dev, unsigned int op, int fd)
{
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE, .attr = op, .addr = (unsigned long)&fd,
	};

	return ioctl(dev, KVM_SET_DEVICE_ATTR, &attr) ? -errno : 0;
}

static int open_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0)
		bail("/dev/kvm: %s", strerror(errno));
	return kvm;
}

/* The no-IOMMU group of the pci-testdev, in its container. */
static void open_group(int *container, int *group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	*container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	*group = open(group_path, O_RDWR | O_CLOEXEC);
	if (*container < 0 || *group < 0)
		bail("opening /dev/vfio/vfio and %s: %s", group_path, strerror(errno));
	if (ioctl(*group, VFIO_GROUP_GET_STATUS, &status) || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		bail("%s is not viable", group_path);
	if (ioctl(*group, VFIO_GROUP_SET_CONTAINER, container) ||
	    ioctl(*container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU))
		bail("no-IOMMU container: %s", strerror(errno));
}

static int open_device(int group)
{
	int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);

	if (device < 0)
		bail("VFIO_GROUP_GET_DEVICE_FD %s: %s", bdf, strerror(errno));
	return device;
}

/*
 * Close the VM, its KVM-VFIO device and /dev/kvm while the VFIO device is
 * open: HOLDER, the open VFIO device, alone must keep the VM and kvm_amd.
 */
static void close_all_but_device(const char *what, struct vm *vm, int kvm, const char *holder)
{
	expect_count(what, 4, HELD_BY_VM);
	close(vm->fd);
	close(vm->dev);
	close(kvm);
	ok(exists(vm->dir), "%s: %s keeps the VM alive", what, holder);
	expect_count(what, 1, HELD_BY_VFIO);
	expect_pinned(what, "VFIO holds the VM");
}

enum order { VM_FIRST, DEVICE_FIRST, FILE_DEL, VM_CLOSED_EARLY };
static const char *const order_name[] = {
	[VM_FIRST]	= "VM and KVM-VFIO device closed before the VFIO device",
	[DEVICE_FIRST]	= "VFIO device closed before the VM",
	[FILE_DEL]	= "group deleted from the KVM-VFIO device, then VM first",
	[VM_CLOSED_EARLY] = "VM fd closed before the group is added",
};

/* The group path, in one of four orders. */
static void lifetime(enum order order)
{
	const char *what = order_name[order];
	int container, group, kvm, device;
	struct vm vm;

	diag("%s", what);
	open_group(&container, &group);
	kvm = open_kvm();
	expect_count(what, 1, "/dev/kvm");
	create_vm(what, kvm, &vm);
	expect_count(what, 4, HELD_BY_VM);

	if (order == VM_CLOSED_EARLY) {
		/*
		 * The KVM-VFIO device must hold the VM's reference file itself:
		 * VFIO takes its reference from it when the device is opened
		 * below, after the VM file is gone.
		 */
		close(vm.fd);
		close(kvm);
		ok(exists(vm.dir), "%s: the KVM-VFIO device keeps the VM alive", what);
		expect_count(what, 2, "the KVM-VFIO device and its VM reference file");
	}
	ok(!file_attr(vm.dev, KVM_DEV_VFIO_FILE_ADD, group), "%s: KVM_DEV_VFIO_FILE_ADD of the group", what);
	device = open_device(group);

	switch (order) {
	case VM_CLOSED_EARLY:
		expect_count(what, 2, "the KVM-VFIO device and its VM reference file");
		close(vm.dev);
		ok(exists(vm.dir), "%s: the VFIO device keeps the VM alive", what);
		expect_count(what, 1, HELD_BY_VFIO);
		expect_pinned(what, "VFIO holds the VM");
		close(device);
		break;
	case FILE_DEL:
		ok(!file_attr(vm.dev, KVM_DEV_VFIO_FILE_DEL, group), "%s: KVM_DEV_VFIO_FILE_DEL of the group", what);
		/* fall through */
	case VM_FIRST:
		close_all_but_device(what, &vm, kvm, "the VFIO device");
		close(device);
		break;
	case DEVICE_FIRST:
		close(device);
		ok(exists(vm.dir), "%s: the VM lives on without the VFIO device", what);
		expect_count(what, 4, HELD_BY_VM);
		expect_pinned(what, "the VM is open");
		close(vm.dev);
		ok(exists(vm.dir), "%s: the VM fd keeps the VM alive", what);
		expect_count(what, 2, "/dev/kvm and the VM");
		close(vm.fd);
		close(kvm);
		break;
	}
	expect_released(what, vm.dir);
	close(group);
	close(container);
}

static int open_cdev(void)
{
	int fd = open(cdev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		bail("%s: %s", cdev_path, strerror(errno));
	return fd;
}

/* VFIO_DEVICE_BIND_IOMMUFD of a cdev fd to a new iommufd, kept in *IOMMUFD. */
static int bind_iommufd(int device, int *iommufd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };

	*iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (*iommufd < 0)
		bail("/dev/iommu: %s", strerror(errno));
	bind.iommufd = *iommufd;
	return ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? -errno : 0;
}

/* The cdev path: the device is opened by binding its cdev to iommufd. */
static void lifetime_cdev(void)
{
	const char *what = "cdev bound to iommufd, VM closed first";
	int kvm, device, iommufd, ret;
	struct vm vm;

	diag("%s", what);
	kvm = open_kvm();
	create_vm(what, kvm, &vm);
	device = open_cdev();
	ok(!file_attr(vm.dev, KVM_DEV_VFIO_FILE_ADD, device), "%s: KVM_DEV_VFIO_FILE_ADD of the cdev fd", what);
	ret = bind_iommufd(device, &iommufd);
	ok(!ret, "%s: VFIO_DEVICE_BIND_IOMMUFD (%s)", what, strerror(-ret));
	close_all_but_device(what, &vm, kvm, "the bound cdev");
	close(device);
	close(iommufd);
	expect_released(what, vm.dir);
}

/*
 * A second VFIO_DEVICE_BIND_IOMMUFD while the device is bound through
 * another fd of its cdev must fail and leave the first opener's VM
 * reference alone: neither drop it (the second fd linked to no VM) nor
 * replace it (the second fd linked to a VM of its own).
 */
static void double_bind(bool second_vm)
{
	const char *what = second_vm ?
		"second bind of the cdev, its fd linked to another VM" :
		"second bind of the cdev, its fd linked to no VM";
	int kvm, first, second, iommufd1, iommufd2, ret;
	struct vm vm1, vm2;

	diag("%s", what);
	kvm = open_kvm();
	create_vm(what, kvm, &vm1);
	first = open_cdev();
	second = open_cdev();
	ok(!file_attr(vm1.dev, KVM_DEV_VFIO_FILE_ADD, first), "%s: KVM_DEV_VFIO_FILE_ADD of the first fd", what);
	ret = bind_iommufd(first, &iommufd1);
	ok(!ret, "%s: the first bind succeeds (%s)", what, strerror(-ret));
	if (second_vm) {
		create_vm(what, kvm, &vm2);
		ok(!file_attr(vm2.dev, KVM_DEV_VFIO_FILE_ADD, second),
		   "%s: KVM_DEV_VFIO_FILE_ADD of the second fd to the second VM", what);
		expect_count(what, 7, "/dev/kvm, two VMs, their KVM-VFIO devices and VM reference files");
	}
	ret = bind_iommufd(second, &iommufd2);
	ok(ret == -EINVAL, "%s: the second bind fails with EINVAL (%s)", what, strerror(-ret));
	if (second_vm) {
		close(vm2.fd);
		close(vm2.dev);
		ok(gone(vm2.dir), "%s: the second VM is destroyed when its files close", what);
	}
	expect_count(what, 4, HELD_BY_VM);
	close(vm1.fd);
	close(vm1.dev);
	close(kvm);
	ok(exists(vm1.dir), "%s: the first bind still keeps its VM alive", what);
	expect_count(what, 1, HELD_BY_VFIO);
	close(second);
	close(iommufd2);
	ok(exists(vm1.dir), "%s: closing the second fd leaves the VM to the first", what);
	expect_pinned(what, "VFIO holds the VM");
	close(first);
	close(iommufd1);
	expect_released(what, vm1.dir);
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

/* /dev/kvm and the capabilities that patches 16 and 17 must keep. */
static void kvm_device(void)
{
	char buf[32];
	struct stat st;
	int fd, r;

	r = stat("/dev/kvm", &st);
	ok(!r && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 &&
	   minor(st.st_rdev) == 232 && (st.st_mode & 07777) == 0600 &&
	   st.st_uid == 0 && st.st_gid == 0,
	   "/dev/kvm is the character device 10:232, mode 0600, root's (%s%u:%u %04o %u:%u)",
	   r ? strerror(errno) : "", r ? 0 : major(st.st_rdev),
	   r ? 0 : minor(st.st_rdev), r ? 0 : (unsigned int)(st.st_mode & 07777),
	   r ? 0 : (unsigned int)st.st_uid, r ? 0 : (unsigned int)st.st_gid);
	r = read_file("/sys/class/misc/kvm/dev", buf, sizeof(buf));
	ok(!r && !strcmp(buf, "10:232"), "the misc device kvm is 10:232 (%s)",
	   r ? strerror(-r) : buf);

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		bail("open /dev/kvm: %s", strerror(errno));
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	ok(r > 0, "/dev/kvm reports KVM_CAP_COALESCED_MMIO (page offset %d)", r);
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO);
	ok(r > 0, "/dev/kvm reports KVM_CAP_COALESCED_PIO (%d)", r);
	close(fd);
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
	kvm_device();

	/* What boot, the module loads and the bind left is not the test's. */
	if (kmemleak_scan() || write_file(DEBUGFS "/kmemleak", "clear"))
		bail("kmemleak is not available in %s", DEBUGFS);

	lifetime(VM_FIRST);
	lifetime(DEVICE_FIRST);
	lifetime(FILE_DEL);
	lifetime(VM_CLOSED_EARLY);
	lifetime_cdev();
	/* Last: on a kernel with the bug they leave a VM that never goes. */
	double_bind(false);
	double_bind(true);

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
