/* pager.c - see pager.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pager.h"

static pid_t pager_pid;
static int tty_state = -1;        /* -1: not looked yet */
static int tty_columns;

static void look_at_terminal(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	if (tty_state >= 0)
		return;
	tty_state = isatty(STDOUT_FILENO);
	tty_columns = 80;
	if (tty_state && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		tty_columns = ws.ws_col;
	else if (env && atoi(env) > 0)
		tty_columns = atoi(env);
}

bool pager_active(void)
{
	return pager_pid != 0;
}

bool pager_tty(int *columns)
{
	look_at_terminal();
	if (columns)
		*columns = tty_columns;
	return tty_state == 1;
}

bool pager_start(bool disabled)
{
	int pfd[2];
	const char *pager = getenv("PAGER");

	look_at_terminal();
	if (disabled || tty_state != 1 || pager_pid)
		return false;
	if (!pager)
		pager = "less";
	if (!*pager || strcmp(pager, "cat") == 0)
		return false;
	if (pipe(pfd) < 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return false;
	}
	if (pid == 0) {
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		setenv("LESS", "FRSXMK", 0);      /* the operator's LESS wins */
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
		fprintf(stderr, "hvtrail: cannot run the pager '%s': %s\n", pager, strerror(errno));
		_exit(127);
	}
	dup2(pfd[1], STDOUT_FILENO);
	close(pfd[0]);
	close(pfd[1]);
	pager_pid = pid;
	atexit(pager_end);
	return true;
}

void pager_end(void)
{
	int status;

	if (!pager_pid)
		return;
	fflush(stdout);
	/* the pager sees end of file only once every copy of the pipe is closed */
	fclose(stdout);
	close(STDOUT_FILENO);
	while (waitpid(pager_pid, &status, 0) < 0 && errno == EINTR)
		;
	pager_pid = 0;
}
