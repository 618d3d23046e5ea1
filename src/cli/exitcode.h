/* exitcode.h -- the exit statuses of enmon and enmond (sysexits.h values), defined once. */
#ifndef ENMON_EXITCODE_H
#define ENMON_EXITCODE_H

enum enmon_exit {
    EX_OK = 0,        /* success */
    EX_FAIL = 1,      /* the command ran and failed: nothing found, a query failed, stdout */
    EX_USAGE = 64,    /* bad command line */
    EX_DATAERR = 65,  /* bad input data (enmon import: nothing imported) */
    EX_NOINPUT = 66,  /* the database (or an input file) cannot be opened */
    EX_SOFTWARE = 70, /* internal error (enmond: a thread or a sink failed to start) */
    EX_CONFIG = 78,   /* configuration error (enmond.yaml, savings.yaml) */
};

#endif
