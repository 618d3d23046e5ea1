/* test_savings_config.c -- savings.yaml: the weather station of a program and its site override,
 * validated with file, line and field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "savings_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static int load(const char *yaml, struct savings_config *c, struct cfg_error *err)
{
    snprintf(path, sizeof(path), "/tmp/enmon-svc-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fh = fdopen(fd, "w");
    fputs(yaml, fh);
    fclose(fh);
    memset(err, 0, sizeof(*err));
    int rc = savings_config_load(path, 540, c, err);
    unlink(path);
    return rc;
}

static void test_weather_station_program_and_site(void **state)
{
    (void)state;
    struct savings_config c;
    struct cfg_error err;
    assert_int_equal(load("programs:\n"
                          "  - id: happy-led\n"
                          "    weather_station: 133\n"
                          "    fixtures: {count: 10, old_w: 32, new_w: 16, hours_per_day: 5}\n"
                          "    sites:\n"
                          "      - {site: seoul-apt, weather_station: 108}\n"
                          "      - site: led-2\n"
                          "        fixtures: {count: 4, old_w: 32, new_w: 16, hours_per_day: 5}\n"
                          "  - id: ess\n",
                          &c, &err),
                     ENMON_OK);
    const struct svc_program *p = savings_config_program(&c, "happy-led");
    assert_non_null(p);
    assert_int_equal(savings_config_weather_station(p, "led-1"), 133); /* the program's */
    assert_int_equal(savings_config_weather_station(p, "seoul-apt"), 108);
    assert_int_equal(savings_config_weather_station(p, "led-2"), 133);
    assert_int_equal(savings_config_weather_station(p, NULL), 133);
    /* a site entry with only a station keeps the program's fixtures */
    assert_true(savings_config_fixtures(p, "seoul-apt") == &p->fixtures);
    assert_true(savings_config_fixtures(p, "led-2")->count == 4);
    assert_int_equal(savings_config_weather_station(savings_config_program(&c, "ess"), "x"), 0);
    assert_int_equal(savings_config_weather_station(NULL, "x"), 0);
    savings_config_free(&c);
}

static void test_weather_station_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int line;
        const char *field, *msg;
    } bad[] = {
        {"programs:\n  - id: a\n    weather_station: 0\n", 3, "programs[0].weather_station",
         "out of range"},
        {"programs:\n  - id: a\n    weather_station: daejeon\n", 3, "programs[0].weather_station",
         "integer"},
        {"programs:\n  - id: a\n    weather_station: -133\n", 3, "programs[0].weather_station",
         "out of range"},
        {"programs:\n  - id: a\n    sites:\n      - site: s\n        weather_station: 1.5\n", 5,
         "programs[0].sites[0].weather_station", "integer"},
        {"programs:\n  - id: a\n    sites:\n      - site: s\n", 4, "programs[0].sites[0]",
         "fixtures or weather_station"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct savings_config c;
        struct cfg_error err;
        assert_int_equal(load(bad[i].yaml, &c, &err), ENMON_ERR_CONFIG);
        assert_int_equal(err.line, bad[i].line);
        assert_string_equal(err.field, bad[i].field);
        assert_non_null(strstr(err.msg, bad[i].msg));
        assert_string_equal(err.file, path);
        savings_config_free(&c);
        if (i == 0) { /* the message docs/SAVINGS.md "Weather data" shows, as enmon prints it */
            char buf[1024], want[256];
            config_format_error(&err, buf, sizeof(buf));
            snprintf(want, sizeof(want),
                     "%s:3: programs[0].weather_station: 0 is out of range "
                     "(1..99999)",
                     path);
            assert_string_equal(buf, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weather_station_program_and_site),
        cmocka_unit_test(test_weather_station_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
