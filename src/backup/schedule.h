/* The backup schedule (backup_schedule, docs/backup.md "Schedule"): when
 * the configuration is pushed by itself. Pure: no clock of its own. A
 * schedule is a daily time of day, "HH:MM" in local time, or an interval,
 * "N" followed by s, m or h (60 s .. 31 days), counted from the epoch. Its
 * slots are the times it names; a push belongs to the latest slot at or
 * before now, so a box down at the time pushes once when it is back, and
 * a restart after the push does not push again. */
#ifndef MN_SCHEDULE_H
#define MN_SCHEDULE_H
#include <stdint.h>

struct schedule {
	int daily_min;          /* minutes after local midnight, or -1 */
	uint64_t interval_s;    /* or this, when daily_min is -1 */
};

/* Parse a schedule; 0 or -EINVAL. */
int schedule_parse(const char *text, struct schedule *s);
/* The latest slot at or before now_s (unix seconds). */
uint64_t schedule_slot(const struct schedule *s, uint64_t now_s);

#endif
