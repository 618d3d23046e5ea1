/* savings_config.c -- the savings parameters file (savings.yaml): tariffs, CO2 factors, baseline
 * rules, solar subsidy bands, ESS split, LED fixtures and demand-response events. */
#include "savings_config.h"
#include "caltime.h"
#include "err.h"
#include "kma_csv.h"
#include "yaml_doc.h"

#include <libfyaml.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SVC_FIELD_MAX 160

struct svc_loader {
    struct ydoc doc;
    struct savings_config *c;
    int offset_min;
};

static const char *fld(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *fld(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, SVC_FIELD_MAX, fmt, ap);
    va_end(ap);
    return buf;
}

void savings_config_defaults(struct savings_config *c)
{
    memset(c, 0, sizeof(*c));
    savings_opts_default(&c->baseline);
    snprintf(c->tariffs[0].name, sizeof(c->tariffs[0].name), "residential");
    tariff_default_residential(&c->tariffs[0].t);
    snprintf(c->tariffs[1].name, sizeof(c->tariffs[1].name), "general");
    tariff_default_general_tou(&c->tariffs[1].t);
    c->ntariffs = 2;
    tariff_co2_default(&c->co2);
    savings_subsidy_default(&c->subsidy);
    c->dr_method = CBL_MID_6_10;
    c->dr_selection = CBL_SEL_HOURLY;
}

const char *savings_config_method_name(enum svc_method m)
{
    return m == SVC_METHOD_WEATHER   ? "weather"
           : m == SVC_METHOD_DAYTYPE ? "day-type-month"
                                     : "auto";
}

int savings_config_method_parse(const char *s, enum svc_method *m)
{
    if (s && strcmp(s, "weather") == 0)
        *m = SVC_METHOD_WEATHER;
    else if (s && strcmp(s, "day-type-month") == 0)
        *m = SVC_METHOD_DAYTYPE;
    else
        return -1;
    return 0;
}

void savings_config_free(struct savings_config *c)
{
    for (size_t i = 0; i < c->nprograms; i++) {
        free(c->programs[i].sites);
        free(c->programs[i].comparison);
    }
    free(c->programs);
    free(c->holidays);
    free(c->events);
    c->programs = NULL;
    c->holidays = NULL;
    c->events = NULL;
    c->nprograms = c->nholidays = c->nevents = 0;
}

/* A scalar item of a sequence as text; -1 with a located error when it is not one. */
static int svc_scalar(struct svc_loader *L, struct fy_node *n, const char *field, char *out,
                      size_t len)
{
    size_t sl = 0;
    const char *s = n && fy_node_get_type(n) == FYNT_SCALAR ? fy_node_get_scalar(n, &sl) : NULL;
    if (!s || sl >= len)
        return ydoc_error(&L->doc, n, field, "expected a short scalar value");
    memcpy(out, s, sl);
    out[sl] = '\0';
    return 0;
}

/* ---- baseline, tariffs, co2 ------------------------------------------------------ */

static int load_baseline(struct svc_loader *L, struct fy_node *map)
{
    static const char *const keys[] = {"max_days",       "min_days", "max_missing",
                                       "min_month_days", "method",   NULL};
    static const char *const methods[] = {"auto", "weather", "day-type-month", NULL};
    struct savings_opts *o = &L->c->baseline;
    long v;
    int method;
    if (ydoc_expect_map(&L->doc, map, "baseline") ||
        ydoc_check_keys(&L->doc, map, "baseline", keys))
        return -1;
    int rc = ydoc_enum(&L->doc, map, "method", "baseline.method", methods, &method);
    if (rc < 0)
        return -1;
    if (rc == 1)
        L->c->method = (enum svc_method)method;
    if (ydoc_int(&L->doc, map, "max_days", "baseline.max_days", 1, 3660, &v) < 0)
        return -1;
    o->max_days = ydoc_child(map, "max_days") ? (int)v : o->max_days;
    if (ydoc_int(&L->doc, map, "min_days", "baseline.min_days", 1, 3660, &v) < 0)
        return -1;
    o->min_days = ydoc_child(map, "min_days") ? (int)v : o->min_days;
    if (ydoc_int(&L->doc, map, "min_month_days", "baseline.min_month_days", 1, 31, &v) < 0)
        return -1;
    o->min_month_days = ydoc_child(map, "min_month_days") ? (int)v : o->min_month_days;
    if (ydoc_double(&L->doc, map, "max_missing", "baseline.max_missing", 0, 1, &o->max_missing) < 0)
        return -1;
    if (o->min_days > o->max_days)
        return ydoc_error(&L->doc, map, "baseline.min_days", "min_days %d exceeds max_days %d",
                          o->min_days, o->max_days);
    return 0;
}

static int load_tiers(struct svc_loader *L, struct fy_node *seq, const char *base,
                      struct tariff_tier *tiers, size_t *n)
{
    static const char *const keys[] = {"upto", "rate", NULL};
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    int len = ydoc_seq_len(seq);
    if (len < 1 || len > TARIFF_TIERS_MAX)
        return ydoc_error(&L->doc, seq, base, "give 1 to %d tiers", TARIFF_TIERS_MAX);
    double prev = 0.0;
    for (int i = 0; i < len; i++) {
        struct fy_node *t = ydoc_seq_at(seq, i);
        fld(f, "%s[%d]", base, i);
        tiers[i] = (struct tariff_tier){0};
        if (ydoc_expect_map(&L->doc, t, f) || ydoc_check_keys(&L->doc, t, f, keys) ||
            ydoc_double(&L->doc, t, "rate", fld(g, "%s.rate", f), 0, 1e6, &tiers[i].rate_krw) != 1)
            return ydoc_child(t, "rate") ? -1 : ydoc_error(&L->doc, t, f, "rate is required");
        int has = ydoc_double(&L->doc, t, "upto", fld(g, "%s.upto", f), 0, 1e9, &tiers[i].upto_kwh);
        if (has < 0)
            return -1;
        if (has == 0 && i + 1 < len)
            return ydoc_error(&L->doc, t, f, "only the last tier may omit upto");
        if (has == 1 && tiers[i].upto_kwh <= prev)
            return ydoc_error(&L->doc, t, g, "tiers must rise (%g after %g)", tiers[i].upto_kwh,
                              prev);
        prev = tiers[i].upto_kwh;
    }
    *n = (size_t)len;
    return 0;
}

static int load_months(struct svc_loader *L, struct fy_node *seq, const char *base, unsigned *mask)
{
    char f[SVC_FIELD_MAX], buf[16];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    *mask = 0;
    for (int i = 0; i < ydoc_seq_len(seq); i++) {
        struct fy_node *n = ydoc_seq_at(seq, i);
        if (svc_scalar(L, n, fld(f, "%s[%d]", base, i), buf, sizeof(buf)))
            return -1;
        char *end;
        long m = strtol(buf, &end, 10);
        if (*end || m < 1 || m > 12)
            return ydoc_error(&L->doc, n, f, "'%s' is not a month 1..12", buf);
        *mask |= 1u << m;
    }
    return 0;
}

/* tou: {light: [summer, spring-autumn, winter], mid: [...], peak: [...]} in KRW/kWh. */
static int load_tou(struct svc_loader *L, struct fy_node *map, const char *base,
                    struct tariff_tou *tou)
{
    static const char *const keys[] = {"light", "mid", "peak", NULL};
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX], buf[32];
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys))
        return -1;
    for (int load = 0; load < TARIFF_LOADS; load++) {
        struct fy_node *seq = ydoc_child(map, keys[load]);
        fld(f, "%s.%s", base, keys[load]);
        if (!seq)
            return ydoc_error(&L->doc, map, f, "required: [summer, spring-autumn, winter] KRW/kWh");
        if (ydoc_expect_seq(&L->doc, seq, f))
            return -1;
        if (ydoc_seq_len(seq) != TARIFF_SEASONS)
            return ydoc_error(&L->doc, seq, f, "give 3 rates: summer, spring-autumn, winter");
        for (int season = 0; season < TARIFF_SEASONS; season++) {
            struct fy_node *n = ydoc_seq_at(seq, season);
            char *end;
            if (svc_scalar(L, n, fld(g, "%s[%d]", f, season), buf, sizeof(buf)))
                return -1;
            double v = strtod(buf, &end);
            if (end == buf || *end || !(v >= 0.0 && v <= 1e6))
                return ydoc_error(&L->doc, n, g, "'%s' is not a rate 0..1e6 KRW/kWh", buf);
            tou->rate[season][load] = v;
        }
    }
    tou->set = 1;
    return 0;
}

static int load_tariff(struct svc_loader *L, struct fy_node *map, const char *base,
                       struct tariff *t)
{
    static const char *const keys[] = {"name", "flat",  "tiers",   "summer_tiers", "summer_months",
                                       "tou",  "basic", "ratchet", "effective",    NULL};
    char f[SVC_FIELD_MAX];
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys))
        return -1;
    if (ydoc_double(&L->doc, map, "flat", fld(f, "%s.flat", base), 0, 1e6, &t->flat_krw) < 0)
        return -1;
    struct fy_node *n;
    if ((n = ydoc_child(map, "tiers")) &&
        load_tiers(L, n, fld(f, "%s.tiers", base), t->tiers, &t->ntiers))
        return -1;
    if ((n = ydoc_child(map, "summer_tiers")) &&
        load_tiers(L, n, fld(f, "%s.summer_tiers", base), t->summer, &t->nsummer))
        return -1;
    if ((n = ydoc_child(map, "summer_months")) &&
        load_months(L, n, fld(f, "%s.summer_months", base), &t->summer_months))
        return -1;
    if ((n = ydoc_child(map, "tou")) && load_tou(L, n, fld(f, "%s.tou", base), &t->tou))
        return -1;
    if (ydoc_double(&L->doc, map, "basic", fld(f, "%s.basic", base), 0, 1e6, &t->tou.basic_krw_kw) <
            0 ||
        ydoc_bool(&L->doc, map, "ratchet", fld(f, "%s.ratchet", base), &t->tou.ratchet) < 0)
        return -1;
    int64_t day;
    int rc = ydoc_str(&L->doc, map, "effective", fld(f, "%s.effective", base), t->tou.effective,
                      sizeof(t->tou.effective));
    if (rc < 0 ||
        (rc == 1 && caltime_parse_date(t->tou.effective, L->offset_min, &day) != ENMON_OK))
        return rc < 0 ? -1
                      : ydoc_error(&L->doc, ydoc_child(map, "effective"), f,
                                   "'%s' is not a date YYYY-MM-DD", t->tou.effective);
    if (!t->tou.set && (ydoc_child(map, "basic") || ydoc_child(map, "ratchet")))
        return ydoc_error(&L->doc, map, base, "basic and ratchet belong to a tou tariff");
    if (t->tou.set && (t->flat_krw > 0.0 || t->ntiers > 0))
        return ydoc_error(&L->doc, map, base, "a tou tariff has no flat rate or tiers");
    if (!t->tou.set && t->flat_krw <= 0.0 && t->ntiers == 0)
        return ydoc_error(&L->doc, map, base, "a tariff needs flat, tiers or tou");
    return 0;
}

static int load_tariffs(struct svc_loader *L, struct fy_node *seq)
{
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX], name[CFG_ID_MAX];
    if (ydoc_expect_seq(&L->doc, seq, "tariffs"))
        return -1;
    for (int i = 0; i < ydoc_seq_len(seq); i++) {
        struct fy_node *m = ydoc_seq_at(seq, i);
        fld(f, "tariffs[%d]", i);
        if (ydoc_expect_map(&L->doc, m, f))
            return -1;
        if (ydoc_str(&L->doc, m, "name", fld(g, "%s.name", f), name, sizeof(name)) != 1)
            return ydoc_child(m, "name") ? -1 : ydoc_error(&L->doc, m, f, "name is required");
        size_t k = 0;
        while (k < L->c->ntariffs && strcmp(L->c->tariffs[k].name, name) != 0)
            k++;
        if (k == SVC_TARIFFS_MAX)
            return ydoc_error(&L->doc, m, f, "at most %d tariffs", SVC_TARIFFS_MAX);
        struct svc_tariff *t = &L->c->tariffs[k];
        memset(t, 0, sizeof(*t));
        snprintf(t->name, sizeof(t->name), "%s", name);
        if (load_tariff(L, m, f, &t->t))
            return -1;
        if (k == L->c->ntariffs)
            L->c->ntariffs++;
    }
    return 0;
}

static int load_co2(struct svc_loader *L, struct fy_node *seq)
{
    static const char *const keys[] = {"from", "factor", NULL};
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX];
    if (ydoc_expect_seq(&L->doc, seq, "co2"))
        return -1;
    L->c->co2.n = 0;
    for (int i = 0; i < ydoc_seq_len(seq); i++) {
        struct fy_node *m = ydoc_seq_at(seq, i);
        fld(f, "co2[%d]", i);
        long long from = 0;
        double factor;
        if (ydoc_expect_map(&L->doc, m, f) || ydoc_check_keys(&L->doc, m, f, keys) ||
            ydoc_date(&L->doc, m, "from", fld(g, "%s.from", f), L->offset_min * 60L, &from) < 0)
            return -1;
        int rc = ydoc_double(&L->doc, m, "factor", fld(g, "%s.factor", f), 0, 5, &factor);
        if (rc != 1)
            return rc < 0 ? -1 : ydoc_error(&L->doc, m, f, "factor (tCO2/MWh) is required");
        if (tariff_co2_add(&L->c->co2, from, factor) != 0)
            return ydoc_error(&L->doc, m, f, "at most %d factors", TARIFF_CO2_MAX);
    }
    if (L->c->co2.n == 0)
        return ydoc_error(&L->doc, seq, "co2", "give at least one factor");
    return 0;
}

/* ---- subsidy, programs -------------------------------------------------------------- */

static int load_subsidy(struct svc_loader *L, struct fy_node *map, const char *base,
                        struct savings_subsidy *s)
{
    static const char *const keys[] = {"years", "bands", NULL};
    static const char *const bkeys[] = {"min_kw", "max_kw", "rate", NULL};
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX];
    long years = s->years;
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys) ||
        ydoc_int(&L->doc, map, "years", fld(f, "%s.years", base), 0, 100, &years) < 0)
        return -1;
    s->years = (int)years;
    struct fy_node *seq = ydoc_child(map, "bands");
    if (!seq)
        return 0;
    if (ydoc_expect_seq(&L->doc, seq, fld(f, "%s.bands", base)))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n < 1 || n > SAVINGS_BANDS_MAX)
        return ydoc_error(&L->doc, seq, f, "give 1 to %d bands", SAVINGS_BANDS_MAX);
    for (int i = 0; i < n; i++) {
        struct fy_node *b = ydoc_seq_at(seq, i);
        fld(f, "%s.bands[%d]", base, i);
        struct savings_band *band = &s->bands[i];
        *band = (struct savings_band){0};
        double prev = i > 0 ? s->bands[i - 1].max_kw : 0.0;
        band->min_kw = prev; /* contiguous with the band before unless min_kw is given */
        if (ydoc_expect_map(&L->doc, b, f) || ydoc_check_keys(&L->doc, b, f, bkeys) ||
            ydoc_double(&L->doc, b, "min_kw", fld(g, "%s.min_kw", f), 0, 1e9, &band->min_kw) < 0 ||
            ydoc_double(&L->doc, b, "max_kw", fld(g, "%s.max_kw", f), 0, 1e9, &band->max_kw) < 0)
            return -1;
        int rc = ydoc_double(&L->doc, b, "rate", fld(g, "%s.rate", f), 0, 1e6, &band->rate_krw);
        if (rc != 1)
            return rc < 0 ? -1 : ydoc_error(&L->doc, b, f, "rate (KRW/kWh) is required");
        if (band->max_kw > 0.0 && band->min_kw >= band->max_kw)
            return ydoc_error(&L->doc, b, f, "min_kw %g is not below max_kw %g", band->min_kw,
                              band->max_kw);
        if (i > 0 && prev <= 0.0)
            return ydoc_error(&L->doc, b, f, "the band before has no upper bound: it must be last");
        if (i > 0 && band->min_kw < prev)
            return ydoc_error(&L->doc, b, f, "min_kw %g overlaps the band before (up to %g kW)",
                              band->min_kw, prev);
    }
    s->nbands = (size_t)n;
    return 0;
}

static int load_fixtures(struct svc_loader *L, struct fy_node *map, const char *base,
                         struct svc_fixtures *fx)
{
    static const char *const keys[] = {"count", "old_w", "new_w", "hours_per_day", NULL};
    static const char *const names[] = {"count", "old_w", "new_w", "hours_per_day"};
    double *vals[] = {&fx->count, &fx->old_w, &fx->new_w, &fx->hours_per_day};
    static const double maxv[] = {1e6, 1e5, 1e5, 24};
    char f[SVC_FIELD_MAX];
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys))
        return -1;
    for (int i = 0; i < 4; i++) {
        int rc = ydoc_double(&L->doc, map, names[i], fld(f, "%s.%s", base, names[i]), 0, maxv[i],
                             vals[i]);
        if (rc != 1)
            return rc < 0 ? -1 : ydoc_error(&L->doc, map, base, "%s is required", names[i]);
    }
    fx->set = 1;
    return 0;
}

/* weather_station: a KMA ASOS station number (133 is Daejeon), as `enmon import weather` stores. */
static int load_weather_station(struct svc_loader *L, struct fy_node *m, const char *field,
                                int *out)
{
    long v = 0;
    int rc = ydoc_int(&L->doc, m, "weather_station", field, 1, KMA_STATION_MAX, &v);
    if (rc == 1)
        *out = (int)v;
    return rc < 0 ? -1 : 0;
}

static int load_site_fixtures(struct svc_loader *L, struct fy_node *seq, const char *base,
                              struct svc_program *p)
{
    static const char *const keys[] = {"site", "fixtures", "weather_station", NULL};
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    int n = ydoc_seq_len(seq);
    p->sites = calloc(n > 0 ? (size_t)n : 1, sizeof(*p->sites));
    if (!p->sites)
        return ydoc_error(&L->doc, seq, base, "out of memory");
    for (int i = 0; i < n; i++) {
        struct fy_node *m = ydoc_seq_at(seq, i);
        struct svc_site_fixtures *s = &p->sites[i];
        fld(f, "%s[%d]", base, i);
        if (ydoc_expect_map(&L->doc, m, f) || ydoc_check_keys(&L->doc, m, f, keys))
            return -1;
        if (ydoc_str(&L->doc, m, "site", fld(g, "%s.site", f), s->site, sizeof(s->site)) != 1 ||
            (!ydoc_child(m, "fixtures") && !ydoc_child(m, "weather_station")))
            return ydoc_error(&L->doc, m, f, "site and fixtures or weather_station are required");
        if (ydoc_child(m, "fixtures") &&
            load_fixtures(L, ydoc_child(m, "fixtures"), fld(g, "%s.fixtures", f), &s->fx))
            return -1;
        if (load_weather_station(L, m, fld(g, "%s.weather_station", f), &s->weather_station))
            return -1;
        p->nsites++;
    }
    return 0;
}

static int load_ess_meters(struct svc_loader *L, struct fy_node *seq, const char *base,
                           struct svc_program *p)
{
    char f[SVC_FIELD_MAX];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n > SVC_ESS_METERS_MAX)
        return ydoc_error(&L->doc, seq, base, "at most %d ESS meters", SVC_ESS_METERS_MAX);
    for (int i = 0; i < n; i++)
        if (svc_scalar(L, ydoc_seq_at(seq, i), fld(f, "%s[%d]", base, i), p->ess_meters[i],
                       sizeof(p->ess_meters[i])))
            return -1;
    p->ness_meters = (size_t)n;
    return 0;
}

static int load_comparison(struct svc_loader *L, struct fy_node *seq, const char *base,
                           struct svc_program *p)
{
    char f[SVC_FIELD_MAX];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n < 1)
        return ydoc_error(&L->doc, seq, base, "list at least one site or device id");
    p->comparison = calloc((size_t)n, sizeof(*p->comparison));
    if (!p->comparison)
        return ydoc_error(&L->doc, seq, base, "out of memory");
    for (int i = 0; i < n; i++) {
        if (svc_scalar(L, ydoc_seq_at(seq, i), fld(f, "%s[%d]", base, i), p->comparison[i],
                       sizeof(p->comparison[i])))
            return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(p->comparison[j], p->comparison[i]) == 0)
                return ydoc_error(&L->doc, ydoc_seq_at(seq, i), f, "'%s' is listed twice",
                                  p->comparison[i]);
        if (strcmp(p->comparison[i], p->id) == 0)
            return ydoc_error(&L->doc, ydoc_seq_at(seq, i), f,
                              "the program itself cannot be its comparison");
        p->ncomparison++;
    }
    return 0;
}

/* AMI (difference-in-differences): program_start with comparison or comparison_program, and
 * match_k. */
static int load_ami(struct svc_loader *L, struct fy_node *m, const char *base,
                    struct svc_program *p)
{
    char f[SVC_FIELD_MAX];
    long long start = 0;
    long k = 3;
    if (ydoc_date(&L->doc, m, "program_start", fld(f, "%s.program_start", base),
                  L->offset_min * 60L, &start) < 0 ||
        ydoc_int(&L->doc, m, "match_k", fld(f, "%s.match_k", base), 1, 3, &k) < 0 ||
        ydoc_str(&L->doc, m, "comparison_program", fld(f, "%s.comparison_program", base),
                 p->comparison_program, sizeof(p->comparison_program)) < 0)
        return -1;
    p->program_start_s = start;
    p->match_k = (int)k;
    struct fy_node *cmp = ydoc_child(m, "comparison"), *cp = ydoc_child(m, "comparison_program");
    if (cmp && cp)
        return ydoc_error(&L->doc, cp, fld(f, "%s.comparison_program", base),
                          "comparison and comparison_program exclude each other");
    if (cp && strcmp(p->comparison_program, p->id) == 0)
        return ydoc_error(&L->doc, cp, fld(f, "%s.comparison_program", base),
                          "the program itself cannot be its comparison");
    if (cmp && load_comparison(L, cmp, fld(f, "%s.comparison", base), p))
        return -1;
    if (start && !cmp && !cp)
        return ydoc_error(&L->doc, ydoc_child(m, "program_start"),
                          fld(f, "%s.program_start", base),
                          "needs comparison or comparison_program (the non-participating "
                          "households)");
    if (!start && (cmp || cp || ydoc_child(m, "match_k")))
        return ydoc_error(&L->doc, cmp ? cmp : cp ? cp : ydoc_child(m, "match_k"),
                          fld(f, "%s.program_start", base),
                          "required with comparison, comparison_program and match_k (when "
                          "feedback started)");
    return 0;
}

static int load_program(struct svc_loader *L, struct fy_node *m, const char *base,
                        struct svc_program *p)
{
    static const char *const keys[] = {"id",      "tariff",     "fixtures",
                                       "sites",   "start",      "operator_share",
                                       "subsidy", "ess_meters", "weather_station",
                                       "program_start", "comparison", "comparison_program",
                                       "match_k", NULL};
    char f[SVC_FIELD_MAX];
    p->operator_share = 0.7;
    if (ydoc_expect_map(&L->doc, m, base) || ydoc_check_keys(&L->doc, m, base, keys))
        return -1;
    if (ydoc_str(&L->doc, m, "id", fld(f, "%s.id", base), p->id, sizeof(p->id)) != 1)
        return ydoc_child(m, "id") ? -1 : ydoc_error(&L->doc, m, base, "id is required");
    if (ydoc_str(&L->doc, m, "tariff", fld(f, "%s.tariff", base), p->tariff, sizeof(p->tariff)) < 0)
        return -1;
    long long start = 0;
    if (ydoc_date(&L->doc, m, "start", fld(f, "%s.start", base), L->offset_min * 60L, &start) < 0)
        return -1;
    p->start_s = start;
    if (ydoc_double(&L->doc, m, "operator_share", fld(f, "%s.operator_share", base), 0, 1,
                    &p->operator_share) < 0)
        return -1;
    if (load_weather_station(L, m, fld(f, "%s.weather_station", base), &p->weather_station))
        return -1;
    struct fy_node *n;
    if ((n = ydoc_child(m, "fixtures")) &&
        load_fixtures(L, n, fld(f, "%s.fixtures", base), &p->fixtures))
        return -1;
    if ((n = ydoc_child(m, "sites")) && load_site_fixtures(L, n, fld(f, "%s.sites", base), p))
        return -1;
    if ((n = ydoc_child(m, "ess_meters")) &&
        load_ess_meters(L, n, fld(f, "%s.ess_meters", base), p))
        return -1;
    if ((n = ydoc_child(m, "subsidy"))) {
        p->subsidy = L->c->subsidy;
        p->has_subsidy = 1;
        if (load_subsidy(L, n, fld(f, "%s.subsidy", base), &p->subsidy))
            return -1;
    }
    return load_ami(L, m, base, p);
}

static int svc_has_tariff(const struct savings_config *c, const char *name)
{
    for (size_t i = 0; i < c->ntariffs; i++)
        if (strcmp(c->tariffs[i].name, name) == 0)
            return 1;
    return 0;
}

static int load_programs(struct svc_loader *L, struct fy_node *seq)
{
    char f[SVC_FIELD_MAX];
    if (ydoc_expect_seq(&L->doc, seq, "programs"))
        return -1;
    int n = ydoc_seq_len(seq);
    L->c->programs = calloc(n > 0 ? (size_t)n : 1, sizeof(*L->c->programs));
    if (!L->c->programs)
        return ydoc_error(&L->doc, seq, "programs", "out of memory");
    for (int i = 0; i < n; i++) {
        struct svc_program *p = &L->c->programs[i];
        L->c->nprograms++;
        if (load_program(L, ydoc_seq_at(seq, i), fld(f, "programs[%d]", i), p))
            return -1;
        if (p->tariff[0] && !svc_has_tariff(L->c, p->tariff))
            return ydoc_error(&L->doc, ydoc_seq_at(seq, i), f, "unknown tariff '%s'", p->tariff);
        if (p->ness_meters && !savings_config_tariff(L->c, p->tariff)->tou.set)
            return ydoc_error(&L->doc, ydoc_seq_at(seq, i), f,
                              "ess_meters need a tou tariff (e.g. tariff: general)");
    }
    return 0;
}

/* ---- demand response ------------------------------------------------------------------ */

int savings_config_check_event(int64_t start_s, int64_t end_s, int offset_min, const char **why)
{
    int64_t off = (int64_t)offset_min * CALTIME_MINUTE_S;
    if (end_s <= start_s)
        *why = "the end is not after the start";
    else if ((start_s + off) % CALTIME_HOUR_S != 0 || (end_s + off) % CALTIME_HOUR_S != 0)
        *why = "events start and end on whole hours";
    else if (caltime_day_start(start_s, offset_min) != caltime_day_start(end_s - 1, offset_min))
        *why = "an event lies within one local day";
    else
        return 0;
    return -1;
}

static int load_events(struct svc_loader *L, struct fy_node *seq, const char *base)
{
    static const char *const keys[] = {"site", "start", "end", NULL};
    char f[SVC_FIELD_MAX], g[SVC_FIELD_MAX], t[64];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    int n = ydoc_seq_len(seq);
    L->c->events = calloc(n > 0 ? (size_t)n : 1, sizeof(*L->c->events));
    if (!L->c->events)
        return ydoc_error(&L->doc, seq, base, "out of memory");
    for (int i = 0; i < n; i++) {
        struct fy_node *m = ydoc_seq_at(seq, i);
        struct svc_event *e = &L->c->events[i];
        const char *why;
        fld(f, "%s[%d]", base, i);
        if (ydoc_expect_map(&L->doc, m, f) || ydoc_check_keys(&L->doc, m, f, keys))
            return -1;
        if (ydoc_str(&L->doc, m, "site", fld(g, "%s.site", f), e->site, sizeof(e->site)) != 1)
            return ydoc_error(&L->doc, m, f, "site is required");
        if (ydoc_str(&L->doc, m, "start", fld(g, "%s.start", f), t, sizeof(t)) != 1 ||
            caltime_parse_datetime(t, L->offset_min, &e->start_s) != ENMON_OK)
            return ydoc_error(&L->doc, m, g, "start must be a time like 2017-08-02T14:00[+09:00]");
        if (ydoc_str(&L->doc, m, "end", fld(g, "%s.end", f), t, sizeof(t)) != 1 ||
            caltime_parse_datetime(t, L->offset_min, &e->end_s) != ENMON_OK)
            return ydoc_error(&L->doc, m, g, "end must be a time like 2017-08-02T16:00[+09:00]");
        if (savings_config_check_event(e->start_s, e->end_s, L->offset_min, &why) != 0)
            return ydoc_error(&L->doc, m, f, "%s", why);
        L->c->nevents++;
    }
    return 0;
}

static int load_holidays(struct svc_loader *L, struct fy_node *seq, const char *base)
{
    char f[SVC_FIELD_MAX], buf[32];
    if (ydoc_expect_seq(&L->doc, seq, base))
        return -1;
    int n = ydoc_seq_len(seq);
    L->c->holidays = calloc(n > 0 ? (size_t)n : 1, sizeof(*L->c->holidays));
    if (!L->c->holidays)
        return ydoc_error(&L->doc, seq, base, "out of memory");
    for (int i = 0; i < n; i++) {
        struct fy_node *d = ydoc_seq_at(seq, i);
        if (svc_scalar(L, d, fld(f, "%s[%d]", base, i), buf, sizeof(buf)))
            return -1;
        if (caltime_parse_date(buf, L->offset_min, &L->c->holidays[i]) != ENMON_OK)
            return ydoc_error(&L->doc, d, f, "'%s' is not a date YYYY-MM-DD", buf);
        L->c->nholidays++;
    }
    return 0;
}

static int load_dr(struct svc_loader *L, struct fy_node *map)
{
    static const char *const keys[] = {"method", "cbl_selection", "holidays", "events", NULL};
    static const char *const methods[] = {"mid-6-10", "max-4-5", NULL};
    static const char *const selections[] = {"hourly", "whole_day", NULL};
    const char *base = "demand_response";
    char f[SVC_FIELD_MAX];
    int m = 0;
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys))
        return -1;
    int rc = ydoc_enum(&L->doc, map, "method", "demand_response.method", methods, &m);
    if (rc < 0)
        return -1;
    if (rc == 1)
        L->c->dr_method = m == 1 ? CBL_MAX_4_5 : CBL_MID_6_10;
    rc = ydoc_enum(&L->doc, map, "cbl_selection", "demand_response.cbl_selection", selections, &m);
    if (rc < 0)
        return -1;
    if (rc == 1)
        L->c->dr_selection = m == 1 ? CBL_SEL_WHOLE_DAY : CBL_SEL_HOURLY;
    struct fy_node *n;
    if ((n = ydoc_child(map, "holidays")) && load_holidays(L, n, fld(f, "%s.holidays", base)))
        return -1;
    if ((n = ydoc_child(map, "events")) && load_events(L, n, fld(f, "%s.events", base)))
        return -1;
    return 0;
}

/* ---- file --------------------------------------------------------------------------------- */

static int load_root(struct svc_loader *L, struct fy_node *root)
{
    static const char *const keys[] = {"baseline", "tariffs",         "co2", "subsidy",
                                       "programs", "demand_response", NULL};
    if (!root)
        return 0;
    if (ydoc_expect_map(&L->doc, root, "") || ydoc_check_keys(&L->doc, root, "", keys))
        return -1;
    struct fy_node *n;
    if ((n = ydoc_child(root, "baseline")) && load_baseline(L, n))
        return -1;
    if ((n = ydoc_child(root, "tariffs")) && load_tariffs(L, n))
        return -1;
    if ((n = ydoc_child(root, "co2")) && load_co2(L, n))
        return -1;
    if ((n = ydoc_child(root, "subsidy")) && load_subsidy(L, n, "subsidy", &L->c->subsidy))
        return -1;
    if ((n = ydoc_child(root, "programs")) && load_programs(L, n))
        return -1;
    if ((n = ydoc_child(root, "demand_response")) && load_dr(L, n))
        return -1;
    return 0;
}

int savings_config_load(const char *path, int offset_min, struct savings_config *c,
                        struct cfg_error *err)
{
    struct svc_loader L = {.c = c, .offset_min = offset_min};
    memset(err, 0, sizeof(*err));
    savings_config_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", path);
    int rc = ydoc_load(&L.doc, path, err);
    if (rc != ENMON_OK)
        return rc;
    rc = load_root(&L, ydoc_root(&L.doc)) == 0 ? ENMON_OK : ENMON_ERR_CONFIG;
    ydoc_free(&L.doc);
    if (rc != ENMON_OK)
        savings_config_free(c);
    return rc;
}

/* ---- lookups -------------------------------------------------------------------------------- */

const struct svc_program *savings_config_program(const struct savings_config *c, const char *id)
{
    for (size_t i = 0; i < c->nprograms; i++)
        if (strcmp(c->programs[i].id, id) == 0)
            return &c->programs[i];
    return NULL;
}

const struct tariff *savings_config_tariff(const struct savings_config *c, const char *name)
{
    for (size_t i = 0; name && name[0] && i < c->ntariffs; i++)
        if (strcmp(c->tariffs[i].name, name) == 0)
            return &c->tariffs[i].t;
    return &c->tariffs[0].t;
}

const struct svc_fixtures *savings_config_fixtures(const struct svc_program *p, const char *site)
{
    for (size_t i = 0; p && site && i < p->nsites; i++)
        if (strcmp(p->sites[i].site, site) == 0 && p->sites[i].fx.set)
            return &p->sites[i].fx;
    return p && p->fixtures.set ? &p->fixtures : NULL;
}

int savings_config_weather_station(const struct svc_program *p, const char *site)
{
    for (size_t i = 0; p && site && i < p->nsites; i++)
        if (strcmp(p->sites[i].site, site) == 0 && p->sites[i].weather_station > 0)
            return p->sites[i].weather_station;
    return p ? p->weather_station : 0;
}

void savings_config_find(const char *config_path, char *out, size_t len)
{
    out[0] = '\0';
    if (config_path && config_path[0]) {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", config_path);
        snprintf(out, len, "%s/savings.yaml", dirname(copy));
        if (access(out, R_OK) == 0)
            return;
    }
    snprintf(out, len, "%s", access(SAVINGS_CONFIG_DEFAULT_PATH, R_OK) == 0
                                 ? SAVINGS_CONFIG_DEFAULT_PATH
                                 : "");
}
