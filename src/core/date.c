/* Civil-date arithmetic on day numbers (H. Hinnant's days_from_civil / civil_from_days). */
#include "certvet/date.h"

#include "certvet/error.h"

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

cv_date cv_date_from_ymd(int year, int month, int day)
{
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (cv_date)(era * 146097 + doe - 719468);
}

void cv_date_to_ymd(cv_date d, int *year, int *month, int *day)
{
    int z = d + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int dd = doy - (153 * mp + 2) / 5 + 1;
    int mm = mp < 10 ? mp + 3 : mp - 9;
    *year = y + (mm <= 2);
    *month = mm;
    *day = dd;
}

bool cv_date_valid_ymd(int year, int month, int day)
{
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month);
}

static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int cv_date_parse(const char *s, size_t len, cv_date *out)
{
    int y, m, d;
    if (len == 10 && s[4] == '-' && s[7] == '-') {
        y = digits(s, 4);
        m = digits(s + 5, 2);
        d = digits(s + 8, 2);
    } else if (len == 8) {
        y = digits(s, 4);
        m = digits(s + 4, 2);
        d = digits(s + 6, 2);
    } else {
        return CV_ERR_INVALID;
    }
    if (y < 0 || m < 0 || d < 0 || !cv_date_valid_ymd(y, m, d))
        return CV_ERR_INVALID;
    *out = cv_date_from_ymd(y, m, d);
    return CV_OK;
}

void cv_date_format(cv_date d, char *buf)
{
    if (d == CV_DATE_NONE) {
        buf[0] = '\0';
        return;
    }
    int y, m, dd;
    cv_date_to_ymd(d, &y, &m, &dd);
    if (y < 0 || y > 9999) {
        buf[0] = '\0';
        return;
    }
    /* Digits written one by one: the ranges are known (y 0..9999, m 1..12, dd 1..31). */
    const int parts[3][2] = {{y, 4}, {m, 2}, {dd, 2}};
    size_t n = 0;
    for (int p = 0; p < 3; p++) {
        if (p)
            buf[n++] = '-';
        for (int i = parts[p][1] - 1, v = parts[p][0]; i >= 0; i--, v /= 10)
            buf[n + (size_t)i] = (char)('0' + v % 10);
        n += (size_t)parts[p][1];
    }
    buf[n] = '\0';
}

cv_date cv_date_add_months(cv_date d, int months)
{
    int y, m, dd;
    cv_date_to_ymd(d, &y, &m, &dd);
    int total = y * 12 + (m - 1) + months;
    int ny = total >= 0 ? total / 12 : (total - 11) / 12;
    int nm = total - ny * 12 + 1;
    int dim = days_in_month(ny, nm);
    return cv_date_from_ymd(ny, nm, dd > dim ? dim : dd);
}

cv_date cv_date_add_years(cv_date d, int years)
{
    return cv_date_add_months(d, years * 12);
}
