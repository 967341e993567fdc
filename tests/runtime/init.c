// SPDX-License-Identifier: GPL-2.0
/*
 * init for the project's QEMU tests: runs the plan in /plan, prints one
 * result line per step on the console and powers the machine off.
 *
 * Built statically for the guest architecture by tests/runtime.sh.  Every
 * line it prints starts with "ksa-init: " so that the host can tell it from
 * kernel messages and from what the tests themselves print.
 *
 * Plan lines (fields separated by blanks, '#' starts a comment line):
 *   run NAME TIMEOUT PROGRAM [ARG...]
 *	run PROGRAM; exit 0 passes, exit 4 (KSFT_SKIP) skips, anything else,
 *	a signal or TIMEOUT seconds without exiting fails
 *   insmod NAME EXPECT PATH
 *	finit_module(PATH); EXPECT is 0 or the errno name the load must fail
 *	with (ENODEV, ENXIO, ...)
 *   rmmod NAME EXPECT MODULE
 *	delete_module(MODULE, O_NONBLOCK), EXPECT as for insmod
 *   show NAME PATH
 *	print the file (one "ksa-init: | " line per line); fails if it cannot
 *	be read
 *   node NAME PATH
 *	print PATH's type, device number, mode and owner ("ksa-init: |
 *	node /dev/kvm c 10:232 0600 0:0"); fails if it does not exist
 *   kvmcap NAME CAP
 *	KVM_CHECK_EXTENSION of CAP (coalesced-mmio or coalesced-pio) on
 *	/dev/kvm, printed as "ksa-init: | kvmcap CAP VALUE"; fails if
 *	/dev/kvm cannot be opened or the capability is not there (0)
 *
 * Results, in TAP:
 *   ksa-init: ok 3 NAME
 *   ksa-init: not ok 4 NAME # exit 1
 *   ksa-init: ok 5 NAME # SKIP exit 4
 * followed by "ksa-init: 1..N" and "ksa-init: done".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#define MAX_ARGS 32

static int step;

static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int len;

	len = snprintf(buf, sizeof(buf), "ksa-init: ");
	va_start(ap, fmt);
	len += vsnprintf(buf + len, sizeof(buf) - len - 1, fmt, ap);
	va_end(ap);
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	/* One write per line keeps the line whole on the console. */
	if (write(STDOUT_FILENO, buf, len) < 0)
		return;
}

static void result(const char *name, int ok, const char *directive)
{
	step++;
	if (directive && *directive)
		say("%s %d %s # %s", ok ? "ok" : "not ok", step, name, directive);
	else
		say("%s %d %s", ok ? "ok" : "not ok", step, name);
}

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		say("# mount %s on %s: %s", type, dir, strerror(errno));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void do_run(const char *name, int timeout, char **argv)
{
	double start = now(), end = start + timeout;
	char directive[64] = "";
	int status, ok = 0;
	pid_t pid, w;

	say("# run %s: %s (timeout %ds)", name, argv[0], timeout);
	pid = fork();
	if (pid < 0) {
		snprintf(directive, sizeof(directive), "fork: %s", strerror(errno));
		result(name, 0, directive);
		return;
	}
	if (pid == 0) {
		setsid();
		execv(argv[0], argv);
		fprintf(stderr, "ksa-init: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		/* As pid 1 this also reaps whatever the test left behind. */
		w = waitpid(-1, &status, WNOHANG);
		if (w == pid)
			break;
		if (w > 0)
			continue;
		if (now() > end) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(directive, sizeof(directive), "timeout after %ds", timeout);
			result(name, 0, directive);
			return;
		}
		usleep(20000);
	}
	/* Whatever the test left running in its group goes too. */
	kill(-pid, SIGKILL);
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		ok = code == 0 || code == 4;
		if (code == 4)
			snprintf(directive, sizeof(directive), "SKIP exit 4");
		else if (code)
			snprintf(directive, sizeof(directive), "exit %d", code);
	} else {
		snprintf(directive, sizeof(directive), "signal %d", WTERMSIG(status));
	}
	say("# %s took %.1fs", name, now() - start);
	result(name, ok, directive);
}

static const char *errname(int err)
{
	static char buf[16];

	switch (err) {
	case 0: return "0";
	case ENODEV: return "ENODEV";
	case ENXIO: return "ENXIO";
	case EAGAIN: return "EAGAIN";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOEXEC: return "ENOEXEC";
	case EPERM: return "EPERM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	}
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

static void check_errno(const char *name, const char *what, int err, const char *expect)
{
	char directive[96];
	int ok = !strcmp(errname(err), expect);

	snprintf(directive, sizeof(directive), "%s: %s, expected %s", what, errname(err), expect);
	say("# %s", directive);
	result(name, ok, ok ? NULL : directive);
}

static void do_insmod(const char *name, const char *expect, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0) {
		err = errno;
	} else {
		if (syscall(SYS_finit_module, fd, "", 0))
			err = errno;
		close(fd);
	}
	check_errno(name, path, err, expect);
}

static void do_rmmod(const char *name, const char *expect, const char *module)
{
	int err = 0;

	if (syscall(SYS_delete_module, module, O_NONBLOCK))
		err = errno;
	check_errno(name, module, err, expect);
}

static void do_show(const char *name, const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f) {
		say("# %s: %s", path, strerror(errno));
		result(name, 0, "cannot read");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		say("| %s", line);
	}
	fclose(f);
	result(name, 1, NULL);
}

static void do_node(const char *name, const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		say("# %s: %s", path, strerror(errno));
		result(name, 0, "no such file");
		return;
	}
	say("| node %s %c %u:%u %04o %u:%u", path,
	    S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : '-',
	    major(st.st_rdev), minor(st.st_rdev),
	    (unsigned int)(st.st_mode & 07777),
	    (unsigned int)st.st_uid, (unsigned int)st.st_gid);
	result(name, 1, NULL);
}

static void do_kvmcap(const char *name, const char *cap)
{
	static const struct { const char *name; int cap; } caps[] = {
		{ "coalesced-mmio", KVM_CAP_COALESCED_MMIO },
		{ "coalesced-pio", KVM_CAP_COALESCED_PIO },
	};
	unsigned int i;
	int fd, r;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (!strcmp(cap, caps[i].name))
			break;
	if (i == sizeof(caps) / sizeof(caps[0])) {
		result(name, 0, "bad plan line: unknown capability");
		return;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		say("# /dev/kvm: %s", strerror(errno));
		result(name, 0, "no /dev/kvm");
		return;
	}
	r = ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap);
	close(fd);
	say("| kvmcap %s %d", cap, r);
	result(name, r > 0, r > 0 ? NULL : "not reported");
}

int main(void)
{
	char line[1024], *argv[MAX_ARGS + 1];
	struct utsname u;
	FILE *plan;
	int argc;

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");
	mount_fs("tmpfs", "/tmp");
	uname(&u);
	say("# %s %s %s", u.sysname, u.release, u.machine);
	say("TAP version 13");

	plan = fopen("/plan", "re");
	if (!plan) {
		say("# /plan: %s", strerror(errno));
		result("plan", 0, "no /plan");
		goto out;
	}
	while (fgets(line, sizeof(line), plan)) {
		char *save, *tok;
		int whole = strchr(line, '\n') || feof(plan);
		int too_long = !whole;

		argc = 0;
		for (tok = strtok_r(line, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			if (argc == MAX_ARGS) {
				too_long = 1;
				break;
			}
			argv[argc++] = tok;
		}
		argv[argc] = NULL;
		if (too_long) {
			char name[64];

			snprintf(name, sizeof(name), "%s", argc ? argv[0] : "plan");
			/* Skip the rest of an overlong line. */
			while (!whole && fgets(line, sizeof(line), plan))
				whole = !!strchr(line, '\n');
			result(name, 0, "bad plan line: too long");
			continue;
		}
		if (!argc || argv[0][0] == '#')
			continue;
		if (!strcmp(argv[0], "run") && argc >= 4)
			do_run(argv[1], atoi(argv[2]), argv + 3);
		else if (!strcmp(argv[0], "insmod") && argc == 4)
			do_insmod(argv[1], argv[2], argv[3]);
		else if (!strcmp(argv[0], "rmmod") && argc == 4)
			do_rmmod(argv[1], argv[2], argv[3]);
		else if (!strcmp(argv[0], "show") && argc == 3)
			do_show(argv[1], argv[2]);
		else if (!strcmp(argv[0], "node") && argc == 3)
			do_node(argv[1], argv[2]);
		else if (!strcmp(argv[0], "kvmcap") && argc == 3)
			do_kvmcap(argv[1], argv[2]);
		else
			result(argv[0], 0, "bad plan line");
	}
	fclose(plan);
out:
	say("1..%d", step);
	say("done");
	sync();
	reboot(RB_POWER_OFF);
	/* Not reached unless power-off failed; the host's timeout ends it. */
	for (;;)
		pause();
}
