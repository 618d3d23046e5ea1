/* test_table.c -- the CLI's table printer: text alignment and trimming, fixed widths, hidden
 * columns, CSV quoting (RFC 4180), JSON escaping and numbers, format names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The table printed in fmt, as a string (freed by the caller). */
static char *print(const struct table *t, enum table_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(table_print(t, fmt, out), ENMON_OK);
    fclose(out);
    return buf;
}

static void add(struct table *t, const char *a, const char *b, const char *c)
{
    const char *row[3] = {a, b, c};
    assert_int_equal(table_add(t, row), ENMON_OK);
}

static const struct table_col cols3[] = {
    {.name = "NAME"},
    {.name = "kWh", .key = "kwh", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "NOTE"},
};

static void test_text_alignment(void **state)
{
    (void)state;
    struct table t;
    table_init(&t, cols3, 3, NULL);
    add(&t, "ami", "1.500", "ok");
    add(&t, "solar-homes", "12.250", NULL); /* empty last cell: no trailing blanks */
    char *s = print(&t, TABLE_TEXT);
    /* widths: NAME 11 (solar-homes), kWh 6 (12.250) right-aligned, NOTE last: unpadded */
    assert_string_equal(s, "NAME            kWh  NOTE\n"
                           "ami           1.500  ok\n"
                           "solar-homes  12.250\n");
    free(s);
    table_free(&t);
    assert_int_equal(t.nrows, 0);
}

static void test_text_right_last_column_padded(void **state)
{
    (void)state;
    static const struct table_col cols[] = {
        {.name = "ID"},
        {.name = "W", .align = TABLE_RIGHT},
    };
    struct table t;
    table_init(&t, cols, 2, NULL);
    const char *row[2] = {"a", "12345"};
    assert_int_equal(table_add(&t, row), ENMON_OK);
    char *s = print(&t, TABLE_TEXT);
    assert_string_equal(s, "ID      W\na   12345\n");
    free(s);
    table_free(&t);
}

static void test_text_fixed_widths_and_separator(void **state)
{
    (void)state;
    static const struct table_col cols[] = {
        {.name = "ID", .width = 4},
        {.name = "STATE", .width = 3}, /* a longer cell overflows, as printf's %-3s */
        {.name = "N", .align = TABLE_RIGHT, .width = 5},
    };
    struct table t;
    table_init(&t, cols, 3, " ");
    const char *row[3] = {"1", "ok", "7"};
    assert_int_equal(table_add(&t, row), ENMON_OK);
    char *s = print(&t, TABLE_TEXT);
    char want[128];
    snprintf(want, sizeof(want), "%-4s %-3s %5s\n%-4s %-3s %5s\n", "ID", "STATE", "N", "1", "ok",
             "7");
    assert_string_equal(s, want);
    free(s);
    table_free(&t);
}

static void test_text_hides_csv_only_columns(void **state)
{
    (void)state;
    static const struct table_col cols[] = {
        {.name = "ID"},
        {.name = "ERROR"},
        {.name = "WH", .align = TABLE_RIGHT, .flags = TABLE_CSV_ONLY},
    };
    struct table t;
    table_init(&t, cols, 3, NULL);
    const char *r1[3] = {"inv-1", "", "10"};
    const char *r2[3] = {"m", "timeout", "20"};
    assert_int_equal(table_add(&t, r1), ENMON_OK);
    assert_int_equal(table_add(&t, r2), ENMON_OK);
    char *s = print(&t, TABLE_TEXT);
    assert_string_equal(s, "ID     ERROR\ninv-1\nm      timeout\n");
    free(s);
    s = print(&t, TABLE_CSV);
    assert_string_equal(s, "ID,ERROR,WH\ninv-1,,10\nm,timeout,20\n");
    free(s);
    table_free(&t);
}

static void test_csv_quoting(void **state)
{
    (void)state;
    struct table t;
    table_init(&t, cols3, 3, NULL);
    add(&t, "a,b", "say \"hi\"", "two\nlines");
    add(&t, "cr\r", "plain", "");
    char *s = print(&t, TABLE_CSV);
    assert_string_equal(s, "NAME,kWh,NOTE\n"
                           "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                           "\"cr\r\",plain,\n");
    free(s);
    table_free(&t);
}

static void test_json_escaping_and_numbers(void **state)
{
    (void)state;
    struct table t;
    table_init(&t, cols3, 3, NULL);
    add(&t, "q\"b\\s\n\t\x01", "-0.5", "é");
    add(&t, "x", "-", "");      /* not a number: null; empty: null */
    add(&t, "y", "1e3", "12");  /* an exponent is a number; NOTE is text: a string */
    add(&t, "z", "007", "nan"); /* JSON has no leading zeros */
    char *s = print(&t, TABLE_JSON);
    assert_string_equal(s, "[\n"
                           "  {\"NAME\": \"q\\\"b\\\\s\\n\\t\\u0001\", \"kwh\": -0.5, "
                           "\"NOTE\": \"é\"},\n"
                           "  {\"NAME\": \"x\", \"kwh\": null, \"NOTE\": null},\n"
                           "  {\"NAME\": \"y\", \"kwh\": 1e3, \"NOTE\": \"12\"},\n"
                           "  {\"NAME\": \"z\", \"kwh\": null, \"NOTE\": \"nan\"}\n"
                           "]\n");
    free(s);
    table_free(&t);
}

static void test_json_numbers_grammar(void **state)
{
    (void)state;
    static const char *const good[] = {"0", "-0", "12", "1.25", "-3.000", "2E-7", "1e+9"};
    static const char *const bad[] = {"+1", ".5", "1.", "01", "1e", "0x10", "1,5", "inf", " 1"};
    static const struct table_col col[] = {{.name = "v", .flags = TABLE_NUMBER}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) + sizeof(bad) / sizeof(bad[0]); i++) {
        int ok = i < sizeof(good) / sizeof(good[0]);
        const char *v = ok ? good[i] : bad[i - sizeof(good) / sizeof(good[0])];
        struct table t;
        table_init(&t, col, 1, NULL);
        assert_int_equal(table_add(&t, &v), ENMON_OK);
        char *s = print(&t, TABLE_JSON);
        char want[64];
        snprintf(want, sizeof(want), "[\n  {\"v\": %s}\n]\n", ok ? v : "null");
        assert_string_equal(s, want);
        free(s);
        table_free(&t);
    }
}

static void test_empty_table(void **state)
{
    (void)state;
    struct table t;
    table_init(&t, cols3, 3, NULL);
    char *s = print(&t, TABLE_JSON);
    assert_string_equal(s, "[]\n");
    free(s);
    s = print(&t, TABLE_TEXT);
    assert_string_equal(s, "NAME  kWh  NOTE\n");
    free(s);
    s = print(&t, TABLE_CSV);
    assert_string_equal(s, "NAME,kWh,NOTE\n");
    free(s);
    table_free(&t);
}

static void test_many_rows(void **state)
{
    (void)state;
    struct table t;
    table_init(&t, cols3, 3, NULL);
    for (int i = 0; i < 1000; i++) {
        char n[16];
        snprintf(n, sizeof(n), "%d", i);
        add(&t, n, n, n);
    }
    assert_int_equal(t.nrows, 1000);
    char *s = print(&t, TABLE_CSV);
    assert_non_null(strstr(s, "\n999,999,999\n"));
    free(s);
    table_free(&t);
}

static void test_parse_format(void **state)
{
    (void)state;
    enum table_format f = TABLE_TEXT;
    unsigned text_csv = TABLE_ALLOW(TABLE_TEXT) | TABLE_ALLOW(TABLE_CSV);
    assert_int_equal(table_parse_format("csv", text_csv, &f), ENMON_OK);
    assert_int_equal(f, TABLE_CSV);
    assert_int_equal(table_parse_format("table", text_csv, &f), ENMON_OK);
    assert_int_equal(f, TABLE_TEXT);
    assert_int_equal(table_parse_format("json", text_csv, &f), ENMON_ERR_PARSE);
    assert_int_equal(table_parse_format("json", text_csv | TABLE_ALLOW(TABLE_JSON), &f), ENMON_OK);
    assert_int_equal(f, TABLE_JSON);
    assert_int_equal(table_parse_format("CSV", text_csv, &f), ENMON_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_alignment),
        cmocka_unit_test(test_text_right_last_column_padded),
        cmocka_unit_test(test_text_fixed_widths_and_separator),
        cmocka_unit_test(test_text_hides_csv_only_columns),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_json_escaping_and_numbers),
        cmocka_unit_test(test_json_numbers_grammar),
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_many_rows),
        cmocka_unit_test(test_parse_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
