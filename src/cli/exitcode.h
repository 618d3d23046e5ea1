/* exitcode.h -- the exit statuses of enmon and enmond (sysexits.h values), defined once. */
#ifndef ENMON_EXITCODE_H
#define ENMON_EXITCODE_H

enum enmon_exit {
    EX_OK = 0,           /* success */
    EX_FAIL = 1,         /* the command ran and failed: nothing found, a query failed, stdout */
    EX_USAGE = 64,       /* bad command line */
    EX_DATAERR = 65,     /* bad input data (enmon import: nothing imported) */
    EX_NOINPUT = 66,     /* the database (or an input file) cannot be opened */
    EX_UNAVAILABLE = 69, /* a service is unavailable (enmon top: the broker, or no summaries) */
    EX_SOFTWARE = 70,    /* internal error (enmond: a thread or a sink failed to start) */
    EX_CANTCREAT = 73,   /* an output file cannot be created (enmon backup) */
    EX_IOERR = 74,       /* an I/O error while writing (enmon backup: the copy) */
    EX_TEMPFAIL = 75,    /* try again later (enmon top --once: enmond's data are stale) */
    EX_CONFIG = 78,      /* configuration error (enmond.yaml, savings.yaml) */
};

#endif
