/* Messages for the project's error enum. */
#include "certvet/error.h"

const char *cv_strerror(enum cv_err err)
{
    switch (err) {
    case CV_OK:
        return "success";
    case CV_ERR_NOMEM:
        return "out of memory";
    case CV_ERR_IO:
        return "input/output error";
    case CV_ERR_PARSE:
        return "malformed input";
    case CV_ERR_INVALID:
        return "invalid value";
    case CV_ERR_TOO_LARGE:
        return "input too large";
    case CV_ERR_NOT_FOUND:
        return "not found";
    case CV_ERR_HOSTILE:
        return "input refused by design";
    case CV_ERR_USAGE:
        return "usage error";
    case CV_ERR_UNSUPPORTED:
        return "unsupported";
    case CV_ERR_STOP:
        return "stopped";
    case CV_ERR_UNAVAILABLE:
        return "store unavailable";
    case CV_ERR_CONFLICT:
        return "conflict";
    }
    return "unknown error";
}
