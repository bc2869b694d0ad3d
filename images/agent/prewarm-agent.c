/*
 * prewarm-agent: the one binary the prewarm.k8s preloader DaemonSet runs.
 *
 *   prewarm-agent [pause]      block until SIGTERM/SIGINT, reaping zombie children, then exit 0.
 *                              This also makes it usable as the pod sandbox ("pause") image.
 *   prewarm-agent install DEST copy this executable to DEST atomically (temp file + rename),
 *                              mode 0755. The preloader installs it into an emptyDir so that
 *   prewarm-agent exit         can be run inside images that have no shell: it exits 0 at once.
 *   prewarm-agent version      print the version.
 *
 * Built with gcc -static so it runs in any image, whatever libc (or none) that image has.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PREWARM_AGENT_VERSION
#define PREWARM_AGENT_VERSION "0.1.0"
#endif

static int pause_until_signal(void)
{
	sigset_t set;
	int sig;

	/*
	 * Block the signals and wait for them with sigwait instead of installing handlers.
	 * As PID 1 of a container, a signal left at its default action is dropped by the
	 * kernel, but a blocked one is still queued, so sigwait sees SIGTERM even there.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		perror("prewarm-agent: sigprocmask");
		return 1;
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			return 0;
		/* Processes that share our PID namespace end up as our children: reap them. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}

static int install(const char *dest)
{
	char tmp[4096];
	char buf[65536];
	ssize_t n = 0;
	int in, out;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", dest, (long)getpid()) >= (int)sizeof(tmp)) {
		fprintf(stderr, "prewarm-agent: destination path too long\n");
		return 1;
	}
	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		perror("prewarm-agent: open /proc/self/exe");
		return 1;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0) {
		perror("prewarm-agent: create temp file");
		close(in);
		return 1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		char *p = buf;
		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				goto fail;
			}
			p += w;
			n -= w;
		}
	}
	/* fchmod: the umask may have stripped bits from the mode given to open. */
	if (n < 0 || fchmod(out, 0755) != 0 || fsync(out) != 0)
		goto fail;
	if (close(out) != 0) {
		out = -1;
		goto fail;
	}
	close(in);
	/* rename is atomic: a reader sees the old file or the whole new one, never a partial copy. */
	if (rename(tmp, dest) != 0) {
		perror("prewarm-agent: rename");
		unlink(tmp);
		return 1;
	}
	return 0;
fail:
	perror("prewarm-agent: copy");
	if (out >= 0)
		close(out);
	close(in);
	unlink(tmp);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: prewarm-agent [pause | install DEST | exit | version]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "pause") == 0)
		return argc <= 2 ? pause_until_signal() : usage();
	if (strcmp(argv[1], "install") == 0)
		return argc == 3 ? install(argv[2]) : usage();
	if (strcmp(argv[1], "exit") == 0)
		return 0;
	if (strcmp(argv[1], "version") == 0) {
		printf("prewarm-agent %s\n", PREWARM_AGENT_VERSION);
		return 0;
	}
	return usage();
}
