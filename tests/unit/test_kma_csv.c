/* test_kma_csv.c -- the KMA ASOS hourly CSV parser: encodings (UTF-8, BOM, CP949 detected), header
 * columns by name, KST to UTC, empty and gap hours, bad lines with their line numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kma_csv.h"

#include <math.h>
#include <string.h>

/* 2024-01-01 00:00 KST = 2023-12-31 15:00 UTC = 1704034800 (19723 days x 86400 - 9 x 3600) */
#define T0 1704034800LL
#define H 3600LL

/* The header of the portal's download, UTF-8: 지점,지점명,일시,기온(°C),기온 QC플래그,강수량(mm) */
#define HDR_UTF8                                                                                   \
    "\xEC\xA7\x80\xEC\xA0\x90,\xEC\xA7\x80\xEC\xA0\x90\xEB\xAA\x85,\xEC\x9D\xBC\xEC\x8B\x9C,"      \
    "\xEA\xB8\xB0\xEC\x98\xA8(\xC2\xB0"                                                            \
    "C),\xEA\xB8\xB0\xEC\x98\xA8 QC\xED\x94\x8C\xEB\x9E\x98"                                       \
    "\xEA\xB7\xB8,\xEA\xB0\x95\xEC\x88\x98\xEB\x9F\x89(mm)\n"
#define DAEJEON "\xEB\x8C\x80\xEC\xA0\x84" /* 대전 */

/* The same header and a line in CP949 (EUC-KR): 지점 C1F6 C1A1, 지점명 C1F6 C1A1 B8ED,
 * 일시 C0CF BDC3, 기온 B1E2 BFC2, ° A1C6, 대전 B4EB C0FC. */
static const char cp949[] = "\xC1\xF6\xC1\xA1,\xC1\xF6\xC1\xA1\xB8\xED,\xC0\xCF\xBD\xC3,"
                            "\xB1\xE2\xBF\xC2(\xA1\xC6"
                            "C)\r\n"
                            "133,\xB4\xEB\xC0\xFC,2024-01-01 00:00,-3.2\r\n";

static struct kma_data parse(const char *text)
{
    struct kma_data d;
    assert_int_equal(kma_csv_parse(text, strlen(text), &d), 0);
    return d;
}

static void test_detects_the_encoding(void **state)
{
    (void)state;
    const char utf8[] = HDR_UTF8 "133," DAEJEON ",2024-01-01 00:00,-3.2,,\n";
    const char bom[] = "\xEF\xBB\xBF" HDR_UTF8;
    assert_int_equal(kma_csv_detect(utf8, strlen(utf8)), KMA_ENC_UTF8);
    assert_int_equal(kma_csv_detect(bom, strlen(bom)), KMA_ENC_UTF8_BOM);
    assert_int_equal(kma_csv_detect(cp949, strlen(cp949)), KMA_ENC_CP949);
    assert_int_equal(kma_csv_detect("a,b\n", 4), KMA_ENC_UTF8); /* ASCII is UTF-8 */
    /* a UTF-8 sequence cut short at the end is not UTF-8 */
    assert_int_equal(kma_csv_detect("\xEC\xA7", 2), KMA_ENC_CP949);
    assert_string_equal(kma_encoding_name(KMA_ENC_CP949), "CP949");
}

static void test_utf8_rows_in_utc(void **state)
{
    (void)state;
    struct kma_data d = parse(HDR_UTF8 "133," DAEJEON ",2024-01-01 00:00,-3.2,,\n"
                                       "133," DAEJEON ",2024-01-01 01:00,-3.5,0,\n"
                                       "133," DAEJEON ",2024-01-01 02:00,-4,,0.5\n");
    assert_int_equal(d.nbad, 0);
    assert_int_equal(d.lines, 3);
    assert_int_equal(d.nrows, 3);
    assert_int_equal(d.stations, 1);
    assert_int_equal(d.empty + d.gaps, 0);
    assert_int_equal(d.rows[0].station, 133);
    assert_int_equal(d.rows[0].ts_s, T0); /* 00:00 KST is 15:00 UTC the day before */
    assert_int_equal(d.rows[2].ts_s, T0 + 2 * H);
    assert_true(d.rows[0].temp_c == -3.2);
    assert_true(d.rows[2].temp_c == -4.0);
    assert_int_equal(d.rows[1].line, 3);
    kma_data_free(&d);
}

static void test_bom_crlf_quotes_and_column_order(void **state)
{
    (void)state;
    /* columns in another order, extra ones, a quoted name with a comma, CRLF, a BOM */
    struct kma_data d =
        parse("\xEF\xBB\xBF"
              "\xEA\xB8\xB0\xEC\x98\xA8(\xE2\x84\x83),x,"             /* 기온(℃),x */
              "\xEC\x9D\xBC\xEC\x8B\x9C,\xEC\xA7\x80\xEC\xA0\x90\r\n" /* 일시,지점 */
              "26.1,\"a, b\",2024-08-01 15:00,108\r\n"
              "\r\n");
    assert_int_equal(d.nbad, 0);
    assert_int_equal(d.nrows, 1);
    assert_int_equal(d.rows[0].station, 108);
    /* 2024-08-01 15:00 KST = 06:00 UTC: T0 + 213 days (Jan..Jul 2024) + 15 h */
    assert_int_equal(d.rows[0].ts_s, T0 + 213 * 24 * H + 15 * H);
    assert_true(d.rows[0].temp_c == 26.1);
    kma_data_free(&d);
}

static void test_missing_hours_empty_and_gaps(void **state)
{
    (void)state;
    /* station 133: 00, 01 (empty), 04 -> gaps 02 and 03; station 108 before it in the output
     * (sorted by station) with one hour; lines out of order are sorted */
    struct kma_data d = parse(HDR_UTF8 "133,x,2024-01-01 04:00,1.5\n"
                                       "133,x,2024-01-01 00:00,1.0\n"
                                       "133,x,2024-01-01 01:00,\n"
                                       "108,y,2024-01-01 00:00,0.5\n");
    assert_int_equal(d.nbad, 0);
    assert_int_equal(d.lines, 4);
    assert_int_equal(d.stations, 2);
    assert_int_equal(d.empty, 1);
    assert_int_equal(d.gaps, 2);
    assert_int_equal(d.nrows, 6); /* 1 + 5 hours 00..04 */
    assert_int_equal(d.rows[0].station, 108);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(d.rows[1 + i].station, 133);
        assert_int_equal(d.rows[1 + i].ts_s, T0 + i * H);
    }
    assert_true(d.rows[1].temp_c == 1.0);
    assert_true(isnan(d.rows[2].temp_c) && d.rows[2].line == 4); /* empty: from line 4 */
    assert_true(isnan(d.rows[3].temp_c) && d.rows[3].line == 0); /* gap: no line */
    assert_true(isnan(d.rows[4].temp_c) && d.rows[4].line == 0);
    assert_true(d.rows[5].temp_c == 1.5);
    kma_data_free(&d);
}

static void test_bad_lines_named(void **state)
{
    (void)state;
    struct kma_data d = parse(HDR_UTF8 "133,x,2024-01-01 00:00,1.0\n"
                                       "133,x,2024-02-30 01:00,1.0\n"  /* line 3: no such day */
                                       "133,x,2024-01-01 02:30,1.0\n"  /* line 4: not on the hour */
                                       "133,x,2024-01-01 03:00,warm\n" /* line 5: bad number */
                                       "abc,x,2024-01-01 04:00,1.0\n"  /* line 6: bad station */
                                       "133,x\n"                       /* line 7: short */
                                       "133,x,2024/01/01 05:00,1.0\n"  /* line 8: bad format */
                                       "133,x,2024-01-01 00:00,2.0\n"); /* line 9: twice */
    assert_int_equal(d.nbad, 7);
    assert_int_equal(d.nerrors, 7);
    static const struct {
        unsigned line;
        const char *has;
    } want[] = {{3, "not a real date"}, {4, "not on the hour"},  {5, "'warm'"},        {6, "'abc'"},
                {7, "fields"},          {8, "2024/01/01 05:00"}, {9, "twice (line 2)"}};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(d.errors[i].line, want[i].line);
        assert_non_null(strstr(d.errors[i].why, want[i].has));
    }
    kma_data_free(&d);
}

static void test_header_without_required_columns(void **state)
{
    (void)state;
    /* a CP949 header handed over unconverted does not name the columns either */
    const char *bad[] = {"station,time,temp\n133,2024-01-01 00:00,1\n", cp949, "", "\n\n"};
    for (size_t i = 0; i < 4; i++) {
        struct kma_data d = parse(bad[i]);
        assert_int_equal(d.nbad, 1);
        assert_int_equal(d.errors[0].line, 1);
        assert_non_null(strstr(d.errors[0].why, "header: "));
        assert_int_equal(d.nrows, 0);
        kma_data_free(&d);
    }
}

static void test_time_forms(void **state)
{
    (void)state;
    int64_t t = 0;
    const char *why;
    assert_int_equal(kma_csv_time("2024-01-01 0:00", &t, &why), 0);
    assert_int_equal(t, T0);
    assert_int_equal(kma_csv_time("2024-01-01 23:00:00", &t, &why), 0);
    assert_int_equal(t, T0 + 23 * H);
    assert_int_equal(kma_csv_time("2024-01-01 24:00", &t, &why), -1);
    assert_int_equal(kma_csv_time("2024-01-01T01:00", &t, &why), -1);
    assert_int_equal(kma_csv_time("2024-01-01 01:00x", &t, &why), -1);
    assert_int_equal(kma_csv_time("2023-02-29 01:00", &t, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detects_the_encoding),
        cmocka_unit_test(test_utf8_rows_in_utc),
        cmocka_unit_test(test_bom_crlf_quotes_and_column_order),
        cmocka_unit_test(test_missing_hours_empty_and_gaps),
        cmocka_unit_test(test_bad_lines_named),
        cmocka_unit_test(test_header_without_required_columns),
        cmocka_unit_test(test_time_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
