/* test_history.c -- the buckets of /api/history and the If-None-Match matching of static files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "history.h"
#include "http.h"

/* 2026-06-21 00:00 +09:00 = 2026-06-20T15:00:00Z = 1781967600 */
#define DAY0 1781967600LL

static void test_buckets(void **state)
{
    (void)state;
    /* 15-minute intervals are their own bucket */
    assert_int_equal(history_bucket_start(HB_INTERVAL, DAY0 + 900, DAY0, 540), DAY0 + 900);
    /* 13:45 local (+09:00) is in the hour from 13:00: DAY0 + 13 h */
    assert_int_equal(history_bucket_start(HB_HOUR, DAY0 + 13 * 3600 + 2700, DAY0, 540),
                     DAY0 + 13 * 3600);
    /* a zone half an hour off (+05:30): local midnight from_s, hours of the local clock */
    int64_t d530 = DAY0 + 210 * 60; /* 2026-06-21 00:00 +05:30 */
    assert_int_equal(history_bucket_start(HB_HOUR, d530 + 3600 + 1800, d530, 330), d530 + 3600);
    /* 23:45 local on the 21st is still the 21st; the month starts 2026-06-01 00:00 +09:00,
     * 20 days before DAY0 */
    assert_int_equal(history_bucket_start(HB_DAY, DAY0 + 86400 - 900, DAY0, 540), DAY0);
    assert_int_equal(history_bucket_start(HB_MONTH, DAY0 + 3600, DAY0, 540), DAY0 - 20 * 86400LL);
}

static void test_etag(void **state)
{
    (void)state;
    const char *tag = "\"1f-2a-0\"";
    assert_true(http_etag_matches("\"1f-2a-0\"", tag));
    assert_true(http_etag_matches("W/\"1f-2a-0\"", tag));
    assert_true(http_etag_matches("\"x\", \"1f-2a-0\"", tag));
    assert_true(http_etag_matches("*", tag));
    assert_false(http_etag_matches("\"1f-2a-00\"", tag));
    assert_false(http_etag_matches("\"1f-2a\"", tag));
    assert_false(http_etag_matches(NULL, tag));
    assert_false(http_etag_matches("", tag));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
