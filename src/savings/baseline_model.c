/* baseline_model.c -- weather-normalized daily baseline: CalTRACK models, G14 fit, uncertainty. */
/*
 * Sources (see docs/SAVINGS.md, "Weather-normalized baseline (method `weather`)"):
 * - CalTRACK methods 2.0, section 3 (daily methods): candidate models intercept-only, HDD-only,
 *   CDD-only, HDD+CDD; balance points from a grid; a candidate qualifies only when its degree-day
 *   coefficients are strictly positive and significant (p < 0.1); the qualifying candidate with
 *   the highest adjusted R-squared is chosen. Data sufficiency: a 365-day baseline (2.2.1.1) with
 *   at least 90 % of its days having data (2.2.1.2); a day's temperature needs 50 % of its hours
 *   (2.2.2.3); a balance point needs >= 10 days with non-zero degree days and >= 20 degree days
 *   in total. http://docs.caltrack.org/ and https://eemeter.readthedocs.io/caltrack_compliance.html
 *   enmon's additions: balance points in C (heating 10..20, cooling 18..28, 1 C steps, heating <=
 *   cooling) and a weekday/weekend indicator term in every candidate.
 * - Degree days from the day's hours when known (>= 12 of 24): HDD = mean over the hours of
 *   max(0, Tb - Th), CDD = mean of max(0, Th - Tb), i.e. degree-hours / 24 (OpenEEmeter's
 *   `degree_day_method="hourly"`); else from the daily mean, HDD = max(0, Tb - Tmean) (CalTRACK's
 *   daily default). Loads that heat and cool hour by hour above and below a balance point respond
 *   to degree-hours: daily-mean degree days understate a hotter summer's cooling (docs/SAVINGS.md
 *   "Why hourly degree days").
 * - ASHRAE Guideline 14-2014 (fit statistics with n - p degrees of freedom):
 *     CV(RMSE) = sqrt(sum (y - yhat)^2 / (n - p)) / ybar,   NMBE = sum (y - yhat) / ((n - p) ybar).
 *   G14's calibration criteria are CV(RMSE) <= 15 %, |NMBE| <= 5 % for monthly data and
 *   CV(RMSE) <= 30 %, |NMBE| <= 10 % for hourly data; it gives none for daily data: enmon applies
 *   the hourly ones to its daily models (https://mepvault.com/cv-rmse-calibration-energy-model/).
 * - G14-2014 Annex B fractional savings uncertainty (eq. B-15 as cited in
 *   https://unmethours.com/question/43151/mv-model-statistical-uncertainty-under-ashrae-14):
 *     dE/E = 1.26 t (CV / F) sqrt((n / n') (1 + 2 / n') (1 / m)),  n' = n (1 - rho) / (1 + rho)
 *   t: Student t at the confidence level (90 %: t(0.95)) with n' - p degrees of freedom, F the
 *   savings fraction of the reporting period's counterfactual, m the reporting days, rho the lag-1
 *   autocorrelation of the baseline residuals. Kept as bm_fsu() for comparison only.
 * - The savings interval (bm_savings, bm_sum_half) is the least-squares prediction interval of a
 *   sum of m days, half = t(0.95, n' - p) RMSE sqrt((n / n') (m + s' (J'J)^-1 s)), J the
 *   Jacobian of the daily prediction in (a, w, bh, bc, Th, Tc) (the balance points are fitted
 *   parameters; linearized as for nonlinear least squares), s the sum of the reporting days'
 *   rows, n/n' G14's autocorrelation factor on the residual variance. B-15 above approximates
 *   s' (J'J)^-1 s / m by 2 / n' (Reddy and Claridge 2000), far too small when m is months:
 *   measured on bench/savings_truth it gave 87.9 % coverage of a 90 % interval
 *   (docs/SAVINGS.md "Uncertainty").
 */
#include "baseline_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NHEAT (BM_HEAT_MAX - BM_HEAT_MIN + 1)
#define NCOOL (BM_COOL_MAX - BM_COOL_MIN + 1)
#define BETTER_BY 1e-9

void bm_opts_default(struct bm_opts *o)
{
    o->min_period_days = 365;
    o->min_coverage = 0.9;
    o->min_dd_days = 10;
    o->min_dd_total = 20.0;
}

const char *bm_kind_name(enum bm_kind k)
{
    switch (k) {
    case BM_INTERCEPT:
        return "intercept";
    case BM_HDD:
        return "hdd";
    case BM_CDD:
        return "cdd";
    case BM_HDD_CDD:
        return "hdd+cdd";
    }
    return "?";
}

double bm_day_temp(const struct bm_day *d)
{
    if (!isnan(d->temp_c))
        return d->temp_c;
    if (!d->hourly_c)
        return NAN;
    double sum = 0;
    int known = 0;
    for (int h = 0; h < BM_HOURS; h++)
        if (!isnan(d->hourly_c[h])) {
            sum += d->hourly_c[h];
            known++;
        }
    return known * 2 >= BM_HOURS ? sum / known : NAN;
}

double bm_hdd(double temp_c, double bp)
{
    return temp_c < bp ? bp - temp_c : 0.0;
}
double bm_cdd(double temp_c, double bp)
{
    return temp_c > bp ? temp_c - bp : 0.0;
}

/* Degree days of a day: from its hours when at least half are known (the mean over the known
 * hours of the hourly degrees: degree-hours / 24), else from its mean temperature. */
static double day_dd(const struct bm_day *d, double bp, int cooling)
{
    if (d->hourly_c) {
        double sum = 0;
        int known = 0;
        for (int h = 0; h < BM_HOURS; h++)
            if (!isnan(d->hourly_c[h])) {
                sum += cooling ? bm_cdd(d->hourly_c[h], bp) : bm_hdd(d->hourly_c[h], bp);
                known++;
            }
        if (known * 2 >= BM_HOURS)
            return sum / known;
    }
    double t = bm_day_temp(d);
    if (isnan(t))
        return NAN;
    return cooling ? bm_cdd(t, bp) : bm_hdd(t, bp);
}

double bm_day_hdd(const struct bm_day *d, double bp)
{
    return day_dd(d, bp, 0);
}
double bm_day_cdd(const struct bm_day *d, double bp)
{
    return day_dd(d, bp, 1);
}

/* ln Gamma(x), x > 0: Lanczos approximation (g = 7, 9 terms), reflection below 0.5. */
static double log_gamma(double x)
{
    static const double c[9] = {0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
                                771.32342877765313,   -176.61502916214059,   12.507343278686905,
                                -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
    const double pi = 3.14159265358979323846;
    if (x < 0.5)
        return log(pi / fabs(sin(pi * x))) - log_gamma(1.0 - x);
    x -= 1.0;
    double a = c[0];
    for (int i = 1; i < 9; i++)
        a += c[i] / (x + i);
    double t = x + 7.5;
    return 0.5 * log(2.0 * pi) + (x + 0.5) * log(t) - t + log(a);
}

/* Continued fraction of I_x(a, b) (modified Lentz), good for x < (a + 1) / (a + b + 2). */
static double betai_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double f = d;
    for (int m = 1; m <= 500; m++) {
        for (int half = 0; half < 2; half++) {
            double num = half == 0
                             ? m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
                             : -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
            d = 1.0 + num * d;
            if (fabs(d) < tiny)
                d = tiny;
            c = 1.0 + num / c;
            if (fabs(c) < tiny)
                c = tiny;
            d = 1.0 / d;
            f *= c * d;
            if (half == 1 && fabs(c * d - 1.0) < eps)
                return f;
        }
    }
    return f;
}

double bm_betai(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    double lfront = log_gamma(a + b) - log_gamma(a) - log_gamma(b) + a * log(x) + b * log(1.0 - x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return exp(lfront) * betai_cf(a, b, x) / a;
    return 1.0 - exp(lfront) * betai_cf(b, a, 1.0 - x) / b;
}

/* P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2). */
static double t_two_sided(double t, double df)
{
    if (isinf(t))
        return 0.0;
    return bm_betai(df / 2.0, 0.5, df / (df + t * t));
}

double bm_t_cdf(double t, double df)
{
    if (!(df > 0) || isnan(t))
        return NAN;
    double tail = 0.5 * t_two_sided(t, df);
    return t >= 0 ? 1.0 - tail : tail;
}

double bm_t_quantile(double prob, double df)
{
    if (!(prob > 0) || !(prob < 1) || !(df > 0))
        return NAN;
    if (prob < 0.5)
        return -bm_t_quantile(1.0 - prob, df);
    double lo = 0, hi = 1;
    while (bm_t_cdf(hi, df) < prob && hi < 1e12)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (bm_t_cdf(mid, df) < prob)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Sufficient statistics of the used days for columns 1, W (weekend), H, C and the centred kWh yc:
 * everything the normal equations need. */
struct gram {
    int n;
    double ybar, sst;         /* mean kWh, sum yc^2 */
    double sy, sw, swy;       /* sum yc, sum W, sum W yc */
    double sh, shh, shw, shy; /* sum H, H^2, H W, H yc */
    double sc, scc, scw, scy; /* the same for C */
    double shc;               /* sum H C (0 when heating bp <= cooling bp) */
    int nz_h, nz_c;           /* days with non-zero H, C */
};

/* One solved candidate. */
struct fit {
    int p, has_weekend;
    double coef[4]; /* intercept (centred), weekend, hdd, cdd */
    double pval[4];
    double sse, r2, adj_r2;
    int eligible;
};

static int day_used(const struct bm_day *d, double *temp)
{
    *temp = bm_day_temp(d);
    return !isnan(d->kwh) && !isnan(*temp);
}

/* Mean, SST and the weekend sums over the used days. */
static void gram_base(const struct bm_day *days, size_t n, struct gram *g)
{
    memset(g, 0, sizeof(*g));
    double sum = 0, t;
    for (size_t i = 0; i < n; i++)
        if (day_used(&days[i], &t)) {
            g->n++;
            sum += days[i].kwh;
        }
    if (g->n == 0)
        return;
    g->ybar = sum / g->n;
    for (size_t i = 0; i < n; i++)
        if (day_used(&days[i], &t)) {
            double yc = days[i].kwh - g->ybar, w = days[i].weekend ? 1.0 : 0.0;
            g->sst += yc * yc;
            g->sy += yc;
            g->sw += w;
            g->swy += w * yc;
        }
}

/* Degree-day sums for one balance point: cooling 0 = heating (H), 1 = cooling (C). */
static void gram_dd(const struct bm_day *days, size_t n, struct gram *g, int cooling, double bp)
{
    double s = 0, ss = 0, sw = 0, sy = 0, t;
    int nz = 0;
    for (size_t i = 0; i < n; i++)
        if (day_used(&days[i], &t)) {
            double x = cooling ? bm_day_cdd(&days[i], bp) : bm_day_hdd(&days[i], bp);
            double w = days[i].weekend ? 1.0 : 0.0;
            s += x;
            ss += x * x;
            sw += x * w;
            sy += x * (days[i].kwh - g->ybar);
            nz += x > 0;
        }
    if (cooling) {
        g->sc = s, g->scc = ss, g->scw = sw, g->scy = sy, g->nz_c = nz;
    } else {
        g->sh = s, g->shh = ss, g->shw = sw, g->shy = sy, g->nz_h = nz;
    }
}

/* Sum over the used days of HDD(hb) x CDD(cb): 0 from daily means when hb <= cb (a mean is not
 * both below hb and above cb), but a day's hours can hold heating and cooling both. */
static double cross_dd(const struct bm_day *days, size_t n, double hb, double cb)
{
    double s = 0, t;
    for (size_t i = 0; i < n; i++)
        if (days[i].hourly_c && day_used(&days[i], &t)) {
            double h = bm_day_hdd(&days[i], hb);
            if (h > 0)
                s += h * bm_day_cdd(&days[i], cb);
        }
    return s;
}

/* Inverts the p x p matrix a (row-major, p <= BM_NX) in place by Gauss-Jordan with partial
 * pivoting. -1 when singular. */
static int invert(double *a, int p)
{
    double inv[BM_NX * BM_NX] = {0};
    double scale = 0;
    for (int i = 0; i < p; i++) {
        inv[i * p + i] = 1.0;
        scale = fmax(scale, fabs(a[i * p + i]));
    }
    for (int col = 0; col < p; col++) {
        int piv = col;
        for (int r = col + 1; r < p; r++)
            if (fabs(a[r * p + col]) > fabs(a[piv * p + col]))
                piv = r;
        if (!(fabs(a[piv * p + col]) > 1e-10 * scale))
            return -1;
        if (piv != col)
            for (int k = 0; k < p; k++) {
                double t = a[col * p + k];
                a[col * p + k] = a[piv * p + k], a[piv * p + k] = t;
                t = inv[col * p + k];
                inv[col * p + k] = inv[piv * p + k], inv[piv * p + k] = t;
            }
        double d = a[col * p + col];
        for (int k = 0; k < p; k++) {
            a[col * p + k] /= d;
            inv[col * p + k] /= d;
        }
        for (int r = 0; r < p; r++) {
            if (r == col)
                continue;
            double f = a[r * p + col];
            for (int k = 0; k < p; k++) {
                a[r * p + k] -= f * a[col * p + k];
                inv[r * p + k] -= f * inv[col * p + k];
            }
        }
    }
    memcpy(a, inv, sizeof(double) * (size_t)(p * p));
    return 0;
}

/* Solves the normal equations of one candidate from the sums; -1 when impossible. */
static int solve(const struct gram *g, const struct bm_opts *o, enum bm_kind kind, struct fit *f)
{
    const double G[4][4] = {{g->n, g->sw, g->sh, g->sc},
                            {g->sw, g->sw, g->shw, g->scw},
                            {g->sh, g->shw, g->shh, g->shc},
                            {g->sc, g->scw, g->shc, g->scc}};
    const double gy[4] = {g->sy, g->swy, g->shy, g->scy};
    int cols[4], p = 0;
    memset(f, 0, sizeof(*f));
    f->has_weekend = g->sw > 0 && g->sw < g->n;
    cols[p++] = 0;
    if (f->has_weekend)
        cols[p++] = 1;
    if (kind == BM_HDD || kind == BM_HDD_CDD)
        cols[p++] = 2;
    if (kind == BM_CDD || kind == BM_HDD_CDD)
        cols[p++] = 3;
    f->p = p;
    if (g->n - p < 1)
        return -1;
    double a[16], b[4];
    for (int i = 0; i < p; i++) {
        b[i] = gy[cols[i]];
        for (int j = 0; j < p; j++)
            a[i * p + j] = G[cols[i]][cols[j]];
    }
    if (invert(a, p) < 0)
        return -1;
    double coef[4] = {0}, explained = 0;
    for (int i = 0; i < p; i++) {
        for (int j = 0; j < p; j++)
            coef[i] += a[i * p + j] * b[j];
        explained += coef[i] * b[i];
    }
    int df = g->n - p;
    f->sse = fmax(0.0, g->sst - explained); /* SSE = yc'yc - b'X'yc for the least-squares b */
    f->r2 = g->sst > 0 ? 1.0 - f->sse / g->sst : 0.0;
    f->adj_r2 = 1.0 - (1.0 - f->r2) * (g->n - 1) / df;
    f->eligible = 1;
    for (int i = 0; i < 4; i++)
        f->pval[i] = NAN;
    for (int i = 0; i < p; i++) {
        f->coef[cols[i]] = coef[i];
        double se = sqrt(f->sse / df * fmax(0.0, a[i * p + i]));
        double pv = se > 0 ? t_two_sided(coef[i] / se, df) : (coef[i] != 0 ? 0.0 : 1.0);
        f->pval[cols[i]] = pv;
        if (cols[i] >= 2) {
            int nz = cols[i] == 2 ? g->nz_h : g->nz_c;
            double total = cols[i] == 2 ? g->sh : g->sc;
            if (!(coef[i] > 0) || !(pv < BM_P_MAX) || nz < o->min_dd_days ||
                total < o->min_dd_total)
                f->eligible = 0;
        }
    }
    return 0;
}

double bm_predict(const struct bm_model *m, int weekend, double temp_c)
{
    if (isnan(temp_c))
        return NAN;
    double y = m->intercept + (weekend ? m->weekend : 0.0);
    if (m->kind == BM_HDD || m->kind == BM_HDD_CDD)
        y += m->beta_hdd * bm_hdd(temp_c, m->heat_bp);
    if (m->kind == BM_CDD || m->kind == BM_HDD_CDD)
        y += m->beta_cdd * bm_cdd(temp_c, m->cool_bp);
    return y;
}

double bm_predict_day(const struct bm_model *m, const struct bm_day *d)
{
    if (isnan(bm_day_temp(d)))
        return NAN;
    double y = m->intercept + (d->weekend ? m->weekend : 0.0);
    if (m->kind == BM_HDD || m->kind == BM_HDD_CDD)
        y += m->beta_hdd * bm_day_hdd(d, m->heat_bp);
    if (m->kind == BM_CDD || m->kind == BM_HDD_CDD)
        y += m->beta_cdd * bm_day_cdd(d, m->cool_bp);
    return y;
}

/* Fit statistics straight from the residuals of the used days (G14 definitions, n - p). */
static void direct_stats(const struct bm_day *days, size_t n, struct bm_model *m, double sst)
{
    double sse = 0, sum_e = 0, lag = 0, prev = 0, t;
    int prev_used = 0;
    for (size_t i = 0; i < n; i++) {
        if (!day_used(&days[i], &t)) {
            prev_used = 0;
            continue;
        }
        double e = days[i].kwh - bm_predict_day(m, &days[i]);
        sse += e * e;
        sum_e += e;
        if (prev_used)
            lag += e * prev;
        prev = e;
        prev_used = 1;
    }
    int df = m->n - m->p;
    m->r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
    m->adj_r2 = 1.0 - (1.0 - m->r2) * (m->n - 1) / df;
    m->rmse = sqrt(sse / df);
    m->cvrmse = m->mean_kwh > 0 ? m->rmse / m->mean_kwh : NAN;
    m->nmbe = m->mean_kwh > 0 ? sum_e / (df * m->mean_kwh) : NAN;
    m->rho = sse > 1e-20 * sst ? lag / sse : 0.0; /* an exact fit has no autocorrelation */
    m->g14_ok = m->cvrmse <= BM_G14_CVRMSE && fabs(m->nmbe) <= BM_G14_NMBE;
}

/* Share of a day's hours below (below = 1) or above bp: the derivative of its HDD(bp) or
 * -CDD(bp) with respect to bp (the known hours; a day without hours: its mean). */
static double dd_share(const struct bm_day *d, double bp, int below)
{
    if (d->hourly_c) {
        int k = 0, c = 0;
        for (int h = 0; h < BM_HOURS; h++)
            if (!isnan(d->hourly_c[h])) {
                k++;
                c += below ? d->hourly_c[h] < bp : d->hourly_c[h] > bp;
            }
        if (k >= 12)
            return (double)c / k;
    }
    double t = bm_day_temp(d);
    return below ? t < bp : t > bp;
}

/* m->xtx_inv: (J'J)^-1 of the fitted model over the used days, J the Jacobian of the daily
 * prediction in (a, w, bh, bc, Th, Tc) (bm_day_x); the balance-point columns are left out when
 * J'J is singular with them (the conditional (X'X)^-1 then). */
static void jacobian_inverse(const struct bm_day *days, size_t n, struct bm_model *m)
{
    double jj[BM_NX][BM_NX] = {{0}}, x[BM_NX], t;
    memset(m->xtx_inv, 0, sizeof(m->xtx_inv));
    for (size_t i = 0; i < n; i++)
        if (day_used(&days[i], &t)) {
            bm_day_x(m, &days[i], x);
            for (int a = 0; a < BM_NX; a++)
                for (int b = 0; b < BM_NX; b++)
                    jj[a][b] += x[a] * x[b];
        }
    for (int with_bp = 1; with_bp >= 0; with_bp--) {
        int cols[BM_NX], p = 0;
        double a[BM_NX * BM_NX];
        for (int c = 0; c < BM_NX; c++)
            if (jj[c][c] > 0 && (with_bp || c < 4))
                cols[p++] = c;
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
                a[i * p + j] = jj[cols[i]][cols[j]];
        if (invert(a, p) < 0)
            continue;
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
                m->xtx_inv[cols[i]][cols[j]] = a[i * p + j];
        m->bp_terms = with_bp;
        return;
    }
}

enum enmon_err bm_fit_candidate(const struct bm_day *days, size_t n, const struct bm_opts *o,
                                enum bm_kind kind, double heat_bp, double cool_bp,
                                struct bm_model *out, int *eligible)
{
    struct bm_opts def;
    if (!days || !out || (int)kind < BM_INTERCEPT || kind > BM_HDD_CDD)
        return ENMON_ERR_INVALID;
    if (!o) {
        bm_opts_default(&def);
        o = &def;
    }
    int use_h = kind == BM_HDD || kind == BM_HDD_CDD, use_c = kind == BM_CDD || kind == BM_HDD_CDD;
    struct gram g;
    gram_base(days, n, &g);
    if (use_h)
        gram_dd(days, n, &g, 0, heat_bp);
    if (use_c)
        gram_dd(days, n, &g, 1, cool_bp);
    if (use_h && use_c) { /* H C: heating bp > cooling bp, or days with hours of both */
        double t;
        for (size_t i = 0; i < n; i++)
            if (day_used(&days[i], &t))
                g.shc += bm_day_hdd(&days[i], heat_bp) * bm_day_cdd(&days[i], cool_bp);
    }
    struct fit f;
    if (solve(&g, o, kind, &f) < 0)
        return ENMON_ERR_RANGE;
    memset(out, 0, sizeof(*out));
    out->sufficient = 1;
    out->kind = kind;
    out->heat_bp = use_h ? heat_bp : NAN;
    out->cool_bp = use_c ? cool_bp : NAN;
    out->intercept = f.coef[0] + g.ybar;
    out->has_weekend = f.has_weekend;
    out->weekend = f.coef[1];
    out->beta_hdd = f.coef[2];
    out->beta_cdd = f.coef[3];
    out->p_hdd = f.pval[2];
    out->p_cdd = f.pval[3];
    out->period_days = (int)n;
    out->n = g.n;
    out->p = f.p;
    out->mean_kwh = g.ybar;
    direct_stats(days, n, out, g.sst);
    jacobian_inverse(days, n, out);
    if (eligible)
        *eligible = f.eligible;
    return ENMON_OK;
}

/* Data sufficiency of the baseline period; 0 when sufficient, else -1 with out->reason. */
static int check_sufficiency(const struct bm_day *days, size_t n, const struct bm_opts *o,
                             struct bm_model *out)
{
    int used = 0;
    double t;
    for (size_t i = 0; i < n; i++)
        used += day_used(&days[i], &t);
    out->period_days = (int)n;
    out->n = used;
    if ((long)n < o->min_period_days) {
        snprintf(out->reason, sizeof(out->reason),
                 "baseline period has %d days, %d needed (CalTRACK 2.2.1.1)", (int)n,
                 o->min_period_days);
        return -1;
    }
    if (n == 0 || used < o->min_coverage * (double)n) {
        snprintf(out->reason, sizeof(out->reason),
                 "%d of %d baseline days have kWh and temperature (%.1f %%), %.0f %% needed "
                 "(CalTRACK 2.2.1.2)",
                 used, (int)n, n ? 100.0 * used / (double)n : 0.0, 100.0 * o->min_coverage);
        return -1;
    }
    return 0;
}

enum enmon_err bm_fit(const struct bm_day *days, size_t n, const struct bm_opts *o,
                      struct bm_model *out)
{
    struct bm_opts def;
    if (!days || !out)
        return ENMON_ERR_INVALID;
    if (!o) {
        bm_opts_default(&def);
        o = &def;
    }
    memset(out, 0, sizeof(*out));
    if (check_sufficiency(days, n, o, out) < 0)
        return ENMON_OK;

    /* Sufficient statistics: the base sums once, the degree-day sums once per balance point. */
    struct gram base, heat[NHEAT], cool[NCOOL];
    gram_base(days, n, &base);
    for (int i = 0; i < NHEAT; i++) {
        heat[i] = base;
        gram_dd(days, n, &heat[i], 0, BM_HEAT_MIN + i);
    }
    for (int j = 0; j < NCOOL; j++) {
        cool[j] = base;
        gram_dd(days, n, &cool[j], 1, BM_COOL_MIN + j);
    }

    int found = 0;
    enum bm_kind best_kind = BM_INTERCEPT;
    double best_adj = 0, best_h = NAN, best_c = NAN;
    struct fit f;
    /* Candidates from the simplest: a later one must be better by more than BETTER_BY. */
    for (int kind = BM_INTERCEPT; kind <= BM_HDD_CDD; kind++) {
        int nh = kind == BM_HDD || kind == BM_HDD_CDD ? NHEAT : 1;
        int nc = kind == BM_CDD || kind == BM_HDD_CDD ? NCOOL : 1;
        for (int i = 0; i < nh; i++)
            for (int j = 0; j < nc; j++) {
                double hb = BM_HEAT_MIN + i, cb = BM_COOL_MIN + j;
                if (kind == BM_HDD_CDD && hb > cb)
                    continue;
                struct gram g = base;
                if (kind == BM_HDD_CDD)
                    g.shc = cross_dd(days, n, hb, cb);
                if (kind == BM_HDD || kind == BM_HDD_CDD) {
                    g.sh = heat[i].sh, g.shh = heat[i].shh, g.shw = heat[i].shw;
                    g.shy = heat[i].shy, g.nz_h = heat[i].nz_h;
                }
                if (kind == BM_CDD || kind == BM_HDD_CDD) {
                    g.sc = cool[j].sc, g.scc = cool[j].scc, g.scw = cool[j].scw;
                    g.scy = cool[j].scy, g.nz_c = cool[j].nz_c;
                }
                if (solve(&g, o, (enum bm_kind)kind, &f) < 0 || !f.eligible)
                    continue;
                if (!found || f.adj_r2 > best_adj + BETTER_BY) {
                    found = 1;
                    best_adj = f.adj_r2;
                    best_kind = (enum bm_kind)kind;
                    best_h = hb;
                    best_c = cb;
                }
            }
    }
    if (!found) {
        snprintf(out->reason, sizeof(out->reason),
                 "%d baseline days with kWh and temperature: too few to fit a model", out->n);
        return ENMON_OK;
    }
    enum enmon_err err = bm_fit_candidate(days, n, o, best_kind, best_h, best_c, out, NULL);
    if (err != ENMON_OK) { /* cannot happen: the same fit succeeded from the sums */
        memset(out, 0, sizeof(*out));
        snprintf(out->reason, sizeof(out->reason), "the chosen model could not be refitted");
    }
    return ENMON_OK;
}

/* 1.26 t sqrt((n / n') (1 + 2 / n') (1 / m)): the FSU without CV / F. NAN when undefined. */
static double fsu_factor(int n, int p, double rho, int m, double *t_out, double *n_eff_out)
{
    double r = rho > 0 ? rho : 0.0;
    double n_eff = r < 1 ? n * (1.0 - r) / (1.0 + r) : 0.0;
    double t = n_eff - p >= 1 ? bm_t_quantile(0.95, n_eff - p) : NAN;
    if (t_out)
        *t_out = t;
    if (n_eff_out)
        *n_eff_out = n_eff;
    if (isnan(t) || m < 1)
        return NAN;
    return BM_FSU_FACTOR * t * sqrt((n / n_eff) * (1.0 + 2.0 / n_eff) * (1.0 / m));
}

double bm_fsu(double cv, double f, int n, int p, double rho, int m, double *t_out,
              double *n_eff_out)
{
    double k = fsu_factor(n, p, rho, m, t_out, n_eff_out);
    if (f == 0 || isnan(f))
        return NAN;
    return k * cv / fabs(f);
}

int bm_day_x(const struct bm_model *m, const struct bm_day *d, double x[BM_NX])
{
    for (int k = 0; k < BM_NX; k++)
        x[k] = 0.0;
    if (isnan(bm_day_temp(d)))
        return -1;
    x[0] = 1.0;
    x[1] = m->has_weekend && d->weekend ? 1.0 : 0.0;
    if (m->kind == BM_HDD || m->kind == BM_HDD_CDD) {
        x[2] = bm_day_hdd(d, m->heat_bp);
        x[4] = m->beta_hdd * dd_share(d, m->heat_bp, 1);
    }
    if (m->kind == BM_CDD || m->kind == BM_HDD_CDD) {
        x[3] = bm_day_cdd(d, m->cool_bp);
        x[5] = -m->beta_cdd * dd_share(d, m->cool_bp, 0);
    }
    return 0;
}

double bm_sum_half(const struct bm_model *m, const double s[BM_NX], int days, double *t_out,
                   double *n_eff_out, double *lev_out)
{
    double r = m->rho > 0 ? m->rho : 0.0;
    double n_eff = r < 1 ? m->n * (1.0 - r) / (1.0 + r) : 0.0;
    double t = n_eff - m->p >= 1 ? bm_t_quantile(0.95, n_eff - m->p) : NAN;
    double lev = 0.0;
    for (int i = 0; i < BM_NX; i++)
        for (int j = 0; j < BM_NX; j++)
            lev += s[i] * m->xtx_inv[i][j] * s[j];
    if (t_out)
        *t_out = t;
    if (n_eff_out)
        *n_eff_out = n_eff;
    if (lev_out)
        *lev_out = lev;
    if (isnan(t) || days < 1)
        return NAN;
    return t * m->rmse * sqrt((m->n / n_eff) * ((double)days + fmax(0.0, lev)));
}

enum enmon_err bm_savings(const struct bm_model *m, const struct bm_day *days, size_t n,
                          struct bm_savings *out)
{
    if (!m || !days || !out || !m->sufficient)
        return ENMON_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    double s[BM_NX] = {0}, x[BM_NX];
    for (size_t i = 0; i < n; i++) {
        double t;
        if (!day_used(&days[i], &t)) {
            out->missing++;
            continue;
        }
        out->days++;
        out->counterfactual_kwh += bm_predict_day(m, &days[i]);
        out->actual_kwh += days[i].kwh;
        bm_day_x(m, &days[i], x);
        for (int k = 0; k < BM_NX; k++)
            s[k] += x[k];
    }
    if (out->days == 0)
        return ENMON_ERR_RANGE;
    out->savings_kwh = out->counterfactual_kwh - out->actual_kwh;
    out->half_kwh = bm_sum_half(m, s, out->days, &out->t90, &out->n_eff, &out->lev);
    out->fsu = out->savings_kwh != 0 ? out->half_kwh / fabs(out->savings_kwh) : NAN;
    return ENMON_OK;
}
