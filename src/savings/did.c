/* did.c -- difference-in-differences on matched comparison households: behavioural (AMI
 * feedback) program savings with a household-clustered 90 % interval: pure functions. */
#include "did.h"
#include "baseline_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void did_household_add(struct did_household *h, int post, int month, double kwh)
{
    if (post) {
        h->post_kwh += kwh;
        h->post_days++;
        return;
    }
    h->pre_kwh += kwh;
    h->pre_days++;
    if (month >= 1 && month <= DID_MONTHS) {
        h->month_kwh[month - 1] += kwh;
        h->month_days[month - 1]++;
    }
}

int did_household_usable(const struct did_household *h)
{
    return h->pre_days >= DID_MIN_PRE_DAYS && h->post_days >= DID_MIN_POST_DAYS;
}

double did_distance(const struct did_household *a, const struct did_household *b)
{
    double sum = 0.0;
    int n = 0;
    for (int m = 0; m < DID_MONTHS; m++) {
        if (!a->month_days[m] || !b->month_days[m])
            continue;
        double x = a->month_kwh[m] / a->month_days[m] - b->month_kwh[m] / b->month_days[m];
        sum += x * x;
        n++;
    }
    return n ? sqrt(sum / n) : INFINITY;
}

int did_match(const struct did_household *p, const struct did_household *cmp, size_t nc, int k,
              size_t *idx)
{
    double best[DID_K_MAX];
    int found = 0;
    if (k < 1 || k > DID_K_MAX)
        return 0;
    for (size_t j = 0; j < nc; j++) {
        if (!did_household_usable(&cmp[j]))
            continue;
        double dist = did_distance(p, &cmp[j]);
        if (!isfinite(dist))
            continue;
        int at = found;
        while (at > 0 && dist < best[at - 1]) /* strict: ties keep the lower index first */
            at--;
        if (at >= k)
            continue;
        int last = found < k ? found : k - 1;
        for (int s = last; s > at; s--) {
            best[s] = best[s - 1];
            idx[s] = idx[s - 1];
        }
        best[at] = dist;
        idx[at] = j;
        if (found < k)
            found++;
    }
    return found;
}

static double did_level(const struct did_household *h)
{
    return h->pre_kwh / h->pre_days;
}

static double did_change(const struct did_household *h)
{
    return h->post_kwh / h->post_days - did_level(h);
}

double did_slope(const struct did_household *cmp, size_t nc)
{
    double n = 0.0, sx = 0.0, sy = 0.0;
    for (size_t j = 0; j < nc; j++) {
        if (!did_household_usable(&cmp[j]))
            continue;
        n++;
        sx += did_level(&cmp[j]);
        sy += did_change(&cmp[j]);
    }
    if (n < 2.0)
        return 0.0;
    double mx = sx / n, my = sy / n, sxx = 0.0, sxy = 0.0;
    for (size_t j = 0; j < nc; j++) {
        if (!did_household_usable(&cmp[j]))
            continue;
        double dx = did_level(&cmp[j]) - mx;
        sxx += dx * dx;
        sxy += dx * (did_change(&cmp[j]) - my);
    }
    return sxx > 0.0 ? sxy / sxx : 0.0;
}

/* A comparison household's change moved to the level of household `to` (bias correction). */
static double did_adjusted(const struct did_household *c, const struct did_household *to, double b)
{
    return did_change(c) + b * (did_level(to) - did_level(c));
}

/* Per comparison household: lam = sum of w_i / k over the participants it serves, sq = sum of
 * (w_i / k)^2 (the reuse term of the variance). */
struct did_use {
    double lam, sq;
};

/* One participant's d_i, or NAN when it or its matches are unusable; its matches' use gets
 * weight w / k. */
static double did_one(const struct did_household *p, const struct did_household *cmp, size_t nc,
                      int k, double b, struct did_use *use)
{
    size_t idx[DID_K_MAX];
    if (!did_household_usable(p))
        return NAN;
    int m = did_match(p, cmp, nc, k, idx);
    if (m < k)
        return NAN;
    double c = 0.0, w = p->post_days / (double)k;
    for (int j = 0; j < m; j++) {
        c += did_adjusted(&cmp[idx[j]], p, b);
        use[idx[j]].lam += w;
        use[idx[j]].sq += w * w;
    }
    return c / m - did_change(p);
}

/* Conditional variance of comparison household j's change (Abadie and Imbens 2006, one
 * neighbour): half the squared difference to its nearest other usable comparison household;
 * 0 when there is none. */
static double did_sigma2(const struct did_household *cmp, size_t nc, size_t j, double b)
{
    size_t idx[2];
    int m = did_match(&cmp[j], cmp, nc, 2, idx);
    for (int i = 0; i < m; i++) {
        if (idx[i] == j)
            continue;
        double x = did_change(&cmp[j]) - did_adjusted(&cmp[idx[i]], &cmp[j], b);
        return 0.5 * x * x;
    }
    return 0.0;
}

static int did_fail(struct did_result *out, const char *why)
{
    out->ok = 0;
    snprintf(out->reason, sizeof(out->reason), "%s", why);
    return 0;
}

int did_estimate(const struct did_household *part, size_t np, const struct did_household *cmp,
                 size_t nc, int k, double *d, struct did_result *out)
{
    memset(out, 0, sizeof(*out));
    out->saved_kwh = out->low_kwh = out->high_kwh = out->per_day_kwh = NAN;
    for (size_t j = 0; j < nc; j++)
        out->n_cmp_usable += did_household_usable(&cmp[j]);
    out->k = k < 1 ? 1 : k > DID_K_MAX ? DID_K_MAX : k;
    if ((size_t)out->n_cmp_usable < (size_t)out->k)
        out->k = out->n_cmp_usable;
    struct did_use *used = calloc(nc ? nc : 1, sizeof(*used));
    double *di = calloc(np ? np : 1, sizeof(*di));
    if (!used || !di) {
        free(used);
        free(di);
        return did_fail(out, "out of memory");
    }
    double w_sum = 0.0, wd_sum = 0.0, b = out->slope = did_slope(cmp, nc);
    for (size_t i = 0; i < np; i++) {
        di[i] = out->k ? did_one(&part[i], cmp, nc, out->k, b, used) : NAN;
        if (d)
            d[i] = di[i];
        if (isnan(di[i])) {
            out->n_part_skipped++;
            continue;
        }
        out->n_part++;
        w_sum += part[i].post_days;
        wd_sum += part[i].post_days * di[i];
    }
    double reuse = 0.0; /* sum over comparison households of (lam^2 - sq) sigma2 */
    for (size_t j = 0; j < nc; j++) {
        if (used[j].lam <= 0.0)
            continue;
        out->n_cmp++;
        if (used[j].lam * used[j].lam > used[j].sq)
            reuse += (used[j].lam * used[j].lam - used[j].sq) * did_sigma2(cmp, nc, j, b);
    }
    free(used);
    if (out->k == 0) {
        free(di);
        return did_fail(out, "no comparison household with enough complete days before and after "
                             "the program start");
    }
    if (out->n_part < 2) {
        free(di);
        return did_fail(out, "fewer than 2 participants with enough complete days before and "
                             "after the program start");
    }
    double s = wd_sum / w_sum, v = 0.0;
    for (size_t i = 0; i < np; i++)
        if (!isnan(di[i]))
            v += (double)part[i].post_days * part[i].post_days * (di[i] - s) * (di[i] - s);
    free(di);
    int n = out->n_part;
    out->participant_days = w_sum;
    out->per_day_kwh = s;
    out->se_per_day = sqrt(v * n / (n - 1.0) + reuse) / w_sum;
    out->t = bm_t_quantile(0.5 + DID_LEVEL / 2.0, n - 1.0);
    out->saved_kwh = s * w_sum;
    out->low_kwh = (s - out->t * out->se_per_day) * w_sum;
    out->high_kwh = (s + out->t * out->se_per_day) * w_sum;
    out->ok = 1;
    return 1;
}
