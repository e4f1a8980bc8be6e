/* Civil dates as day numbers (days since 1970-01-01, proleptic Gregorian), parsing and arithmetic.
 */
#ifndef CERTVET_DATE_H
#define CERTVET_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t cv_date; /* days since 1970-01-01; CV_DATE_NONE when unknown */

#define CV_DATE_NONE   INT32_MIN
#define CV_DATE_STRLEN 11 /* "YYYY-MM-DD" plus the terminating NUL */

/* Day number of year-month-day. 'month' is 1..12 and 'day' 1..31; no validation here. */
cv_date cv_date_from_ymd(int year, int month, int day);

/* Splits 'd' into year, month (1..12) and day (1..31). */
void cv_date_to_ymd(cv_date d, int *year, int *month, int *day);

/* True when year-month-day names a real calendar day (1..9999, leap years honoured). */
bool cv_date_valid_ymd(int year, int month, int day);

/* Parses 'len' bytes of 's' as YYYY-MM-DD or YYYYMMDD (nothing else: 03/04/2025 is ambiguous and
 * refused) into '*out'. Returns CV_OK, or CV_ERR_INVALID for any other shape or an impossible day
 * such as 2025-02-30. */
int cv_date_parse(const char *s, size_t len, cv_date *out);

/* Writes 'd' as YYYY-MM-DD into 'buf' (at least CV_DATE_STRLEN bytes). CV_DATE_NONE writes "". */
void cv_date_format(cv_date d, char *buf);

/* The same day 'months' months later (or earlier when negative), clamped to the month's last day:
 * 2024-01-31 + 1 month = 2024-02-29. */
cv_date cv_date_add_months(cv_date d, int months);

/* The same day 'years' later, clamped (2024-02-29 + 1 year = 2025-02-28). */
cv_date cv_date_add_years(cv_date d, int years);

#endif
