/* payload.c -- MQTT topics and JSON payloads for readings: pure formatting, no I/O. */
#include "payload.h"

#include "caltime.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A bounded output buffer: appends stop at the end and set overflow. */
struct out {
    char *buf;
    size_t len, pos;
    int overflow;
};

static struct out out_begin(char *buf, size_t len)
{
    struct out o = {buf, len, 0, len == 0};
    if (len)
        buf[0] = '\0';
    return o;
}

static void out_mem(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n >= o->len - o->pos) {
        o->overflow = 1;
        return;
    }
    memcpy(o->buf + o->pos, s, n);
    o->pos += n;
    o->buf[o->pos] = '\0';
}

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static int out_end(struct out *o)
{
    if (o->overflow) {
        if (o->len)
            o->buf[0] = '\0';
        return -1;
    }
    return (int)o->pos;
}

static int snprintf_len(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int snprintf_len(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return -1;
    }
    return n;
}

/* A topic segment: non-empty, no MQTT wildcards, no level separator. */
static int segment_ok(const char *s)
{
    return s[0] != '\0' && strpbrk(s, "+#/") == NULL;
}

/* The root may span several levels ("city/enmon") but holds no wildcards. */
static int root_ok(const char *s)
{
    return s[0] != '\0' && strpbrk(s, "+#") == NULL;
}

int payload_status_topic(const char *root, char *buf, size_t len)
{
    if (!root_ok(root)) {
        if (len)
            buf[0] = '\0';
        return -1;
    }
    return snprintf_len(buf, len, "%s/status", root);
}

/* "<root>/<tree>/<program>/<site>/<device>/<leaf>[/<sub>]" for tree "device" or
 * "alert"; -1 when a segment cannot be published or buf is too small. */
static int device_topic_in(const struct enmon_config *cfg, const char *tree, uint32_t device,
                           const char *leaf, const char *sub, char *buf, size_t len)
{
    if (len)
        buf[0] = '\0';
    if (device >= cfg->ndevices || !segment_ok(leaf) || (sub && !segment_ok(sub)))
        return -1;
    const struct cfg_device *d = &cfg->devices[device];
    if (d->program >= cfg->nprograms || d->site >= cfg->nsites)
        return -1;
    const char *program = cfg->programs[d->program].id;
    const char *site = cfg->sites[d->site].id;
    if (!root_ok(cfg->mqtt.topic_root) || !segment_ok(program) || !segment_ok(site) ||
        !segment_ok(d->id))
        return -1;
    struct out o = out_begin(buf, len);
    const char *part[] = {cfg->mqtt.topic_root, tree, program, site, d->id, leaf, sub};
    for (size_t i = 0; i < sizeof(part) / sizeof(part[0]) && part[i]; i++) {
        if (i)
            out_mem(&o, "/", 1);
        out_str(&o, part[i]);
    }
    return out_end(&o);
}

static int device_topic(const struct enmon_config *cfg, uint32_t device, const char *leaf,
                        char *buf, size_t len)
{
    return device_topic_in(cfg, "device", device, leaf, NULL, buf, len);
}

int payload_alert_topic(const struct enmon_config *cfg, uint32_t device, const char *rule,
                        const char *event, char *buf, size_t len)
{
    return device_topic_in(cfg, "alert", device, rule, event, buf, len);
}

int payload_state_topic(const struct enmon_config *cfg, uint32_t device, char *buf, size_t len)
{
    return device_topic(cfg, device, "state", buf, len);
}

int payload_availability_topic(const struct enmon_config *cfg, uint32_t device, char *buf,
                               size_t len)
{
    return device_topic(cfg, device, "availability", buf, len);
}

const char *payload_availability(int online)
{
    return online ? PAYLOAD_ONLINE : PAYLOAD_OFFLINE;
}

/* The decimal digits of u, most significant first, into out (20 bytes): their count. */
static int digits_u64(uint64_t u, char *out)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Copies the n characters of s into buf as a string: n, or -1 (buf[0] = '\0') when
 * buf cannot hold them, as snprintf_len. */
static int put_len(char *buf, size_t len, const char *s, int n)
{
    if ((size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return -1;
    }
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    return n;
}

/* v (|v| < 2^63, integral) as "%.0f" writes it. */
static int int_text(double v, char *buf, size_t len)
{
    char s[24];
    int n = 0;
    if (signbit(v)) /* "%.0f" of -0.0 is "-0" */
        s[n++] = '-';
    n += digits_u64((uint64_t)fabs(v), s + n);
    return put_len(buf, len, s, n);
}

/* "%.15g" without printf for the numbers readings carry (1e-4 <= |v| < 1e15): the
 * shortest decimal D = x / 10^k (k >= 1, |x| < 1e15) with |v - D| <= 4e-16 |D|. Such a
 * D has at most 15 significant digits and lies closer to v than half of the 15-digit
 * spacing at v (which exceeds 5e-16 |v|), so rounding v to 15 digits gives D, which
 * "%.15g" prints in fixed notation without trailing zeros. The products are taken in
 * long double (64-bit mantissa: error about 5e-20, 10^k exact up to 10^27). Returns -1
 * when no such D exists (v needs all 15 digits, or long double is no wider than double):
 * the caller then uses snprintf. */
static int fast_g15(double v, char *s)
{
#if LDBL_MANT_DIG >= 64
    long double a = v < 0 ? -(long double)v : (long double)v;
    if (!(a >= 1e-4L && a < 1e15L))
        return -1;
    long double scale = 1.0L;
    for (int k = 1; k <= 19; k++) {
        scale *= 10.0L;
        long double p = a * scale;
        if (p >= 1e15L)
            return -1;
        int64_t xi = (int64_t)(p + 0.5L); /* nearest integer (ties do not pass the test) */
        long double x = (long double)xi;
        long double d = p > x ? p - x : x - p;
        if (xi == 0 || d > 4e-16L * x)
            continue;
        uint64_t u = (uint64_t)xi;
        while (k > 0 && u % 10 == 0) { /* D with fewer decimals (3.0000000000000004: "3") */
            u /= 10;
            k--;
        }
        uint64_t pow10 = 1;
        for (int i = 0; i < k; i++)
            pow10 *= 10;
        int n = 0;
        if (v < 0)
            s[n++] = '-';
        n += digits_u64(u / pow10, s + n);
        if (k > 0) {
            s[n++] = '.';
            uint64_t frac = u % pow10;
            for (int i = k - 1; i >= 0; i--) { /* k digits, leading zeros kept */
                s[n + i] = (char)('0' + frac % 10);
                frac /= 10;
            }
            n += k;
        }
        return n;
    }
#else
    (void)v;
    (void)s;
#endif
    return -1;
}

int payload_number(double v, char *buf, size_t len)
{
    if (!isfinite(v)) {
        if (len)
            buf[0] = '\0';
        return -1;
    }
    if (v == 0.0)
        return put_len(buf, len, "0", 1); /* also -0.0 */
    if (v == trunc(v) && fabs(v) < 1e15)
        return int_text(v, buf, len); /* "%.0f" */
    char s[48];
    int n = fast_g15(v, s);
    if (n > 0)
        return put_len(buf, len, s, n);
    return snprintf_len(buf, len, "%.15g", v);
}

int payload_utc_time(int64_t wall_ms, char *buf, size_t len)
{
    int64_t ms = wall_ms % 1000;
    int64_t s = wall_ms / 1000;
    if (ms < 0) {
        ms += 1000;
        s -= 1;
    }
    /* the civil date of day s / 86400 (caltime's days-to-civil): no gmtime_r, no printf */
    int64_t days = s / 86400, sod = s % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    int year, month, day;
    caltime_civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999) { /* "%04d" of such a year is not 4 digits: rare, slow path */
        time_t t = (time_t)s;
        struct tm tm;
        if (!gmtime_r(&t, &tm)) {
            if (len)
                buf[0] = '\0';
            return -1;
        }
        return snprintf_len(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    }
    char t[32] = "0000-00-00T00:00:00.000Z";
    const int64_t field[7] = {year, month, day, sod / 3600, sod / 60 % 60, sod % 60, ms};
    const int end[7] = {4, 7, 10, 13, 16, 19, 23}; /* one past each field's last digit */
    for (int f = 0; f < 7; f++)
        for (int64_t v = field[f], i = end[f] - 1; v > 0; v /= 10, i--)
            t[i] = (char)('0' + v % 10);
    return put_len(buf, len, t, 24);
}

static void out_escaped_char(struct out *o, unsigned char c)
{
    char esc[8];
    switch (c) {
    case '"':
        out_str(o, "\\\"");
        break;
    case '\\':
        out_str(o, "\\\\");
        break;
    case '\n':
        out_str(o, "\\n");
        break;
    case '\r':
        out_str(o, "\\r");
        break;
    case '\t':
        out_str(o, "\\t");
        break;
    case '\b':
        out_str(o, "\\b");
        break;
    case '\f':
        out_str(o, "\\f");
        break;
    default:
        if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            out_str(o, esc);
        } else {
            out_mem(o, (const char *)&c, 1);
        }
    }
}

static int needs_escape(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c == 0x7f;
}

static void out_json_string(struct out *o, const char *s)
{
    out_mem(o, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *run = p; /* characters copied as they are, in one go */
        while (*p && !needs_escape(*p))
            p++;
        if (p > run)
            out_mem(o, (const char *)run, (size_t)(p - run));
        if (*p)
            out_escaped_char(o, *p++);
    }
    out_mem(o, "\"", 1);
}

int payload_json_string(const char *s, char *buf, size_t len)
{
    struct out o = out_begin(buf, len);
    out_json_string(&o, s);
    return out_end(&o);
}

/* ,"key":"value" */
static void out_field_string(struct out *o, const char *key, const char *value)
{
    out_str(o, ",\"");
    out_str(o, key);
    out_str(o, "\":");
    out_json_string(o, value);
}

/* ,"key":number (numbers come from payload_number, or are integral for enums and bits) */
static void out_field_number(struct out *o, const char *key, double v, int integer)
{
    char num[64];
    int n = integer && fabs(v) < 1e15 ? int_text(trunc(v), num, sizeof(num))
                                      : payload_number(v, num, sizeof(num));
    if (n < 0)
        return; /* not finite: an invalid value is left out, never published */
    size_t klen = strlen(key), need = klen + 4 + (size_t)n; /* ,"key":num */
    if (o->overflow || need >= o->len - o->pos) {
        o->overflow = 1;
        return;
    }
    char *w = o->buf + o->pos; /* one bounds check, then plain copies */
    w[0] = ',';
    w[1] = '"';
    memcpy(w + 2, key, klen);
    w[klen + 2] = '"';
    w[klen + 3] = ':';
    memcpy(w + klen + 4, num, (size_t)n);
    w[need] = '\0';
    o->pos += need;
}

static void out_measurements(struct out *o, const struct reading *r)
{
    for (int m = 0; m < MEAS__ALL; m++) {
        if (!reading_has(r, (enum meas)m) || !isfinite(r->value[m]))
            continue;
        int integer = m == MEAS_STATE || m == MEAS_EVENTS;
        out_field_number(o, reading_meas_name((enum meas)m), r->value[m], integer);
    }
}

/* ,"modules":[{"dc_current_a":3.12,"dc_voltage_v":380.5,"dc_power_w":1187},...]
 * (inverters with SunSpec model 160; a module's invalid values are left out) */
static void out_modules(struct out *o, const struct reading *r)
{
    if (r->nmodules == 0)
        return;
    out_str(o, ",\"modules\":[");
    for (int i = 0; i < r->nmodules && i < READING_MODULES_MAX; i++) {
        char one[256];
        struct out obj = out_begin(one, sizeof(one));
        for (int k = 0; k < MODULE__COUNT; k++)
            if ((r->module[i].valid >> k) & 1u)
                out_field_number(&obj, reading_module_meas_name((enum module_meas)k),
                                 r->module[i].value[k], 0);
        out_str(o, i ? ",{" : "{");
        if (!obj.overflow && obj.pos > 0)
            out_str(o, one + 1); /* without the leading comma */
        out_str(o, "}");
    }
    out_str(o, "]");
}

static const char *quality_name(uint8_t quality)
{
    return quality == READING_OK ? "ok" : "partial";
}

int payload_state_json(const struct enmon_config *cfg, const struct reading *r, char *buf,
                       size_t len)
{
    struct out o = out_begin(buf, len);
    if (r->device >= cfg->ndevices || (r->quality != READING_OK && r->quality != READING_PARTIAL)) {
        o.overflow = 1;
        return out_end(&o);
    }
    const struct cfg_device *d = &cfg->devices[r->device];
    if (d->program >= cfg->nprograms || d->site >= cfg->nsites) {
        o.overflow = 1;
        return out_end(&o);
    }
    char ts[48];
    out_str(&o, "{\"device\":");
    out_json_string(&o, d->id);
    out_field_string(&o, "program", cfg->programs[d->program].id);
    out_field_string(&o, "site", cfg->sites[d->site].id);
    out_field_string(&o, "kind", config_device_kind_name(d->kind));
    if (payload_utc_time(r->wall_ms, ts, sizeof(ts)) < 0)
        o.overflow = 1;
    else
        out_field_string(&o, "ts", ts);
    char ms[32] = ",\"ts_ms\":-";
    size_t at = strlen(ms) - (r->wall_ms >= 0); /* keeps the '-' of a negative time */
    uint64_t mag = r->wall_ms >= 0 ? (uint64_t)r->wall_ms : 0 - (uint64_t)r->wall_ms;
    out_mem(&o, ms, at + (size_t)digits_u64(mag, ms + at));
    out_field_string(&o, "quality", quality_name(r->quality));
    out_measurements(&o, r);
    out_modules(&o, r);
    out_str(&o, "}");
    return out_end(&o);
}
