/* The project's one error enum and its messages. Values are only ever appended. */
#ifndef CERTVET_ERROR_H
#define CERTVET_ERROR_H

enum cv_err {
    CV_OK = 0,          /* success */
    CV_ERR_NOMEM,       /* an allocation failed */
    CV_ERR_IO,          /* reading or writing a file failed */
    CV_ERR_PARSE,       /* input is not well-formed (JSON, XML, CSV syntax) */
    CV_ERR_INVALID,     /* input is well-formed but a field is missing or wrong */
    CV_ERR_TOO_LARGE,   /* input exceeds a named limit */
    CV_ERR_NOT_FOUND,   /* a looked-up item does not exist */
    CV_ERR_HOSTILE,     /* input refused by design (DTD, entities, external references) */
    CV_ERR_USAGE,       /* a command line or API argument is wrong */
    CV_ERR_UNSUPPORTED, /* a format or option this build does not handle */
    CV_ERR_STOP,        /* a callback asked the caller to stop early (not a failure) */
    CV_ERR_UNAVAILABLE, /* the store (Redis) cannot be reached, timed out, or refused a write */
    CV_ERR_CONFLICT,    /* the operation conflicts with the current state */
};

/* Returns a static, human-readable description of 'err'. Never NULL. */
const char *cv_strerror(enum cv_err err);

#endif
