/* What the benchmarks' C halves (tools/bench/mn_*.c) share: a clock and a
 * sort for the times they measure. */
#ifndef MN_BENCHUTIL_H
#define MN_BENCHUTIL_H
#include <stddef.h>

/* Milliseconds on the monotonic clock (from an unspecified start). */
double bench_now_ms(void);
/* Sort n times in place, smallest first (v[n / 2] is then the median). */
void bench_sort(double *v, size_t n);

#endif
