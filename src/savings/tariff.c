/* tariff.c -- KRW value of energy (progressive residential tiers, a flat rate, or a general-service
 * time-of-use rate with a basic charge per kW) and avoided CO2 with dated grid emission factors:
 * pure functions. */
#include "tariff.h"

#include <string.h>

void tariff_default_residential(struct tariff *t)
{
    memset(t, 0, sizeof(*t));
    static const struct tariff_tier normal[] = {{200, 120.0}, {400, 214.6}, {0, 307.3}};
    static const struct tariff_tier summer[] = {{300, 120.0}, {450, 214.6}, {0, 307.3}};
    memcpy(t->tiers, normal, sizeof(normal));
    t->ntiers = 3;
    memcpy(t->summer, summer, sizeof(summer));
    t->nsummer = 3;
    t->summer_months = 1u << 7 | 1u << 8;
}

void tariff_default_general_tou(struct tariff *t)
{
    static const double rate[TARIFF_SEASONS][TARIFF_LOADS] = {
        [TARIFF_SUMMER] = {56.1, 109.0, 191.1},
        [TARIFF_SPRING_AUTUMN] = {56.1, 78.6, 109.3},
        [TARIFF_WINTER] = {63.1, 109.2, 166.7},
    };
    memset(t, 0, sizeof(*t));
    t->tou.set = 1;
    memcpy(t->tou.rate, rate, sizeof(rate));
    t->tou.basic_krw_kw = 8320.0;
    memcpy(t->tou.effective, "2013-11-21", 11);
}

enum tariff_season tariff_season_of(int month)
{
    if (month >= 6 && month <= 8)
        return TARIFF_SUMMER;
    if (month >= 11 || month <= 2)
        return TARIFF_WINTER;
    return TARIFF_SPRING_AUTUMN;
}

enum tariff_load tariff_load_of(int month, int hour, enum tariff_day day)
{
    /* weekday load period per hour: L light, M mid, P peak */
    static const char summer[] = "LLLLLLLLLMPPMPPPPMMMMMML";
    static const char winter[] = "LLLLLLLLLMPPMMMMMPPPMMPL";
    if (day == TARIFF_HOLIDAY || hour < 0 || hour > 23)
        return TARIFF_LIGHT;
    char c = (tariff_season_of(month) == TARIFF_WINTER ? winter : summer)[hour];
    if (c == 'P')
        return day == TARIFF_SATURDAY ? TARIFF_MID : TARIFF_PEAK;
    return c == 'M' ? TARIFF_MID : TARIFF_LIGHT;
}

double tariff_tou_rate(const struct tariff *t, int month, int hour, enum tariff_day day)
{
    return t->tou.rate[tariff_season_of(month)][tariff_load_of(month, hour, day)];
}

static double tiers_charge(const struct tariff_tier *tiers, size_t n, double kwh)
{
    double charge = 0.0, lower = 0.0;
    for (size_t i = 0; i < n && kwh > lower; i++) {
        int last = i + 1 == n || tiers[i].upto_kwh <= 0.0;
        double upper = last ? kwh : tiers[i].upto_kwh;
        double in_tier = (kwh < upper ? kwh : upper) - lower;
        if (in_tier > 0.0)
            charge += in_tier * tiers[i].rate_krw;
        if (last)
            break;
        lower = upper;
    }
    return charge;
}

double tariff_energy_charge(const struct tariff *t, int month, double kwh)
{
    if (t->flat_krw > 0.0)
        return kwh * t->flat_krw;
    int summer = month >= 1 && month <= 12 && (t->summer_months >> month & 1u) && t->nsummer > 0;
    return summer ? tiers_charge(t->summer, t->nsummer, kwh)
                  : tiers_charge(t->tiers, t->ntiers, kwh);
}

double tariff_saved_krw(const struct tariff *t, int month, double actual_kwh, double saved_kwh,
                        double share)
{
    if (t->flat_krw > 0.0)
        return saved_kwh * t->flat_krw;
    if (share <= 0.0 || share > 1.0)
        share = 1.0;
    double actual = actual_kwh / share, saved = saved_kwh / share;
    double base = actual + saved;
    if (base < 0.0)
        base = 0.0;
    return (tariff_energy_charge(t, month, base) - tariff_energy_charge(t, month, actual)) * share;
}

void tariff_co2_default(struct co2_table *c)
{
    memset(c, 0, sizeof(*c));
    c->steps[0] = (struct co2_step){.from_s = 0, .t_per_mwh = 0.4173};
    c->n = 1;
}

int tariff_co2_add(struct co2_table *c, int64_t from_s, double t_per_mwh)
{
    if (c->n >= TARIFF_CO2_MAX)
        return -1;
    size_t i = c->n;
    while (i > 0 && c->steps[i - 1].from_s > from_s) {
        c->steps[i] = c->steps[i - 1];
        i--;
    }
    c->steps[i] = (struct co2_step){.from_s = from_s, .t_per_mwh = t_per_mwh};
    c->n++;
    return 0;
}

double tariff_co2_factor(const struct co2_table *c, int64_t ts_s)
{
    if (c->n == 0)
        return 0.0;
    double f = c->steps[0].t_per_mwh;
    for (size_t i = 0; i < c->n && c->steps[i].from_s <= ts_s; i++)
        f = c->steps[i].t_per_mwh;
    return f;
}

double tariff_co2_kg(const struct co2_table *c, int64_t ts_s, double kwh)
{
    return kwh * tariff_co2_factor(c, ts_s);
}
