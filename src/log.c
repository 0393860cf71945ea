#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include "src/log.h"

static const char *log_ident = "mirrornet";
static bool log_syslog;
static enum log_level log_max = LOG_LVL_INFO;

void log_setup(const char *ident, bool use_syslog, enum log_level level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_max = level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info", "debug" };
	va_list ap;

	if (lvl > log_max)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else {
		fprintf(stderr, "%s: %s: ", log_ident, name[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
