/* test_copy_text.c -- COPY text rows (escaping, NULL, numbers, timestamps) and URL redaction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "copy_text.h"

static void test_escaping(void **state)
{
    char buf[128];
    struct copy_row r;
    copy_row_begin(&r, buf, sizeof(buf));
    /* COPY's text format: backslash, tab, line feed and carriage return are escaped, so a
     * device key or alert cause can never split a row or a field */
    copy_row_text(&r, "a\tb\\c\nd\re");
    copy_row_text(&r, NULL);
    copy_row_null(&r);
    copy_row_text(&r, "");
    assert_int_equal(copy_row_end(&r), (int)strlen("a\\tb\\\\c\\nd\\re\t\\N\t\\N\t\n"));
    assert_string_equal(buf, "a\\tb\\\\c\\nd\\re\t\\N\t\\N\t\n");
}

static void test_numbers(void **state)
{
    char buf[128];
    struct copy_row r;
    copy_row_begin(&r, buf, sizeof(buf));
    copy_row_int(&r, -42);
    copy_row_double(&r, 0.1);    /* 17 significant digits: the exact double comes back */
    copy_row_double(&r, 2500.5); /* %.17g drops trailing zeros */
    copy_row_double(&r, NAN);    /* not a number PostgreSQL should get: NULL */
    copy_row_double(&r, INFINITY);
    assert_true(copy_row_end(&r) > 0);
    assert_string_equal(buf, "-42\t0.10000000000000001\t2500.5\t\\N\t\\N\n");
}

static void test_times(void **state)
{
    char buf[128];
    struct copy_row r;
    copy_row_begin(&r, buf, sizeof(buf));
    copy_row_time_ms(&r, 0);
    /* 1782810000 s = 20,634 days + 32,400 s: 2026-06-30 09:00 UTC (18:00 KST) */
    copy_row_time_ms(&r, 1782810000123LL);
    /* one millisecond before the epoch: floor, not truncation toward zero */
    copy_row_time_ms(&r, -1);
    assert_true(copy_row_end(&r) > 0);
    assert_string_equal(buf, "1970-01-01 00:00:00.000+00\t2026-06-30 09:00:00.123+00\t"
                             "1969-12-31 23:59:59.999+00\n");
}

static void test_overflow(void **state)
{
    char buf[8];
    struct copy_row r;
    copy_row_begin(&r, buf, sizeof(buf));
    copy_row_text(&r, "1234567"); /* 7 bytes fit, the line feed and NUL would not */
    assert_int_equal(copy_row_end(&r), -1);
    copy_row_begin(&r, buf, sizeof(buf));
    copy_row_text(&r, "123456"); /* 6 + line feed + NUL = 8 */
    assert_int_equal(copy_row_end(&r), 7);
    assert_string_equal(buf, "123456\n");
}

static void test_redaction(void **state)
{
    char out[128];
    assert_int_equal(copy_redact_url("postgresql://enmon:pw@db:5432/x?sslmode=require&password=abc",
                                     out, sizeof(out)),
                     0);
    assert_string_equal(out, "postgresql://enmon:***@db:5432/x?sslmode=require&password=***");
    assert_int_equal(copy_redact_url("postgresql://enmon@db/x", out, sizeof(out)), 0);
    assert_string_equal(out, "postgresql://enmon@db/x");
    /* an @ in the path is not the end of a userinfo */
    assert_int_equal(copy_redact_url("postgresql://db/a:b@c", out, sizeof(out)), 0);
    assert_string_equal(out, "postgresql://db/a:b@c");
    assert_int_equal(copy_redact_url("postgresql://u:secret@h/x", out, 10), -1);
    assert_string_equal(out, "");

    assert_int_equal(copy_url_has_password("postgresql://enmon@db/x"), 0);
    assert_int_equal(copy_url_has_password("postgresql://enmon:s@db/x"), 1);
    assert_int_equal(copy_url_has_password("postgresql://db/x?password=z"), 1);
    assert_int_equal(copy_url_has_password("postgresql://db/x?xpassword=z"), 0);
}

static void test_params(void **state)
{
    char v[32];
    const char *u = "postgresql://enmon@db/x?sslmode=verify-full&sslrootcert=/etc/ca.pem";
    assert_int_equal(copy_url_param(u, "sslmode", v, sizeof(v)), 1);
    assert_string_equal(v, "verify-full");
    assert_int_equal(copy_url_param(u, "sslrootcert", v, sizeof(v)), 1);
    assert_string_equal(v, "/etc/ca.pem");
    assert_int_equal(copy_url_param(u, "ssl", v, sizeof(v)), 0);
    assert_int_equal(copy_url_param("postgresql://db/x", "sslmode", v, sizeof(v)), 0);
    assert_int_equal(copy_url_param(u, "sslrootcert", v, 5), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),  cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_times),     cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_redaction), cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
