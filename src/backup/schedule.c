/* See schedule.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "src/backup/schedule.h"

int schedule_parse(const char *text, struct schedule *s)
{
	size_t n = strlen(text);
	char *end;

	s->daily_min = -1;
	s->interval_s = 0;
	if ((n == 4 || n == 5) && text[n - 3] == ':') {
		unsigned long hh = strtoul(text, &end, 10), mm;
		if (end != text + n - 3 || text[0] < '0' || text[0] > '9')
			return -EINVAL;
		mm = strtoul(text + n - 2, &end, 10);
		if (*end || text[n - 2] < '0' || text[n - 2] > '9' || hh > 23 || mm > 59)
			return -EINVAL;
		s->daily_min = (int)(hh * 60 + mm);
		return 0;
	}
	if (n < 2 || text[0] < '1' || text[0] > '9')
		return -EINVAL;
	unsigned long long v = strtoull(text, &end, 10);
	uint64_t unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 0;
	if (!unit || end[1] || end != text + n - 1 || v > 31ull * 86400 || v * unit < 60 ||
	    v * unit > 31ull * 86400)
		return -EINVAL;
	s->interval_s = v * unit;
	return 0;
}

uint64_t schedule_slot(const struct schedule *s, uint64_t now_s)
{
	if (s->daily_min < 0)
		return s->interval_s ? now_s - now_s % s->interval_s : 0;
	time_t now = (time_t)now_s;
	struct tm tm;
	localtime_r(&now, &tm);
	tm.tm_hour = s->daily_min / 60;
	tm.tm_min = s->daily_min % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t > now) {   /* today's is still to come: yesterday's */
		localtime_r(&now, &tm);
		tm.tm_mday -= 1;
		tm.tm_hour = s->daily_min / 60;
		tm.tm_min = s->daily_min % 60;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	return t < 0 ? 0 : (uint64_t)t;
}
