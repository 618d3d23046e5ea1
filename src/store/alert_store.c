/* alert_store.c -- alerts in SQLite: the raise/clear history the store writes, and its queries. */
#include "alert_store.h"
#include "alert_learned.h"
#include "db_open.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

int alert_store_write(sqlite3 *db, int64_t device_id, const struct alert_event *ev)
{
    sqlite3_stmt *s = NULL;
    const char *sql =
        ev->raised ? "INSERT OR IGNORE INTO alerts(key, device_id, rule, cause, severity, value,"
                     " first_seen_ms, raised_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                   /* ?8 makes room for all eight parameters; the unused ones are ignored */
                   : "UPDATE alerts SET cleared_ms = ?8, clear_value = ?6 WHERE key = ?1 AND"
                     " cleared_ms IS NULL";
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_text(s, 1, ev->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, device_id);
    sqlite3_bind_text(s, 3, ev->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, ev->cause, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, alert_severity_name(ev->severity), -1, SQLITE_STATIC);
    double value = ev->raised ? ev->value : ev->clear_value;
    if (isfinite(value))
        sqlite3_bind_double(s, 6, value); /* else NULL: a clear no reading decided */
    sqlite3_bind_int64(s, 7, ev->first_seen_ms);
    sqlite3_bind_int64(s, 8, ev->last_seen_ms);
    return step_done(s);
}

static int device_index(const struct enmon_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (strcmp(cfg->devices[i].id, key) == 0)
            return (int)i;
    return -1;
}

static int append_active(sqlite3_stmt *s, const struct enmon_config *cfg, struct alert_event **out,
                         size_t *n, size_t *cap)
{
    int dev = device_index(cfg, (const char *)sqlite3_column_text(s, 1));
    if (dev < 0)
        return ENMON_OK; /* the device left the configuration */
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct alert_event *bigger = realloc(*out, ncap * sizeof(**out));
        if (!bigger)
            return ENMON_ERR_NOMEM;
        *out = bigger;
        *cap = ncap;
    }
    struct alert_event *ev = &(*out)[(*n)++];
    memset(ev, 0, sizeof(*ev));
    ev->device = (uint32_t)dev;
    snprintf(ev->id, sizeof(ev->id), "%s", (const char *)sqlite3_column_text(s, 0));
    snprintf(ev->rule, sizeof(ev->rule), "%s", (const char *)sqlite3_column_text(s, 2));
    snprintf(ev->cause, sizeof(ev->cause), "%s", (const char *)sqlite3_column_text(s, 3));
    int sev = alert_severity_by_name((const char *)sqlite3_column_text(s, 4));
    ev->severity = sev < 0 ? ALERT_WARNING : (enum alert_severity)sev;
    ev->value = sqlite3_column_double(s, 5);
    ev->clear_value = NAN;
    ev->first_seen_ms = sqlite3_column_int64(s, 6);
    ev->last_seen_ms = sqlite3_column_int64(s, 7);
    ev->raised = 1;
    return ENMON_OK;
}

int alert_store_load_active(const char *path, const struct enmon_config *cfg,
                            struct alert_event **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3 *db = NULL;
    char msg[256];
    if (db_open(path, DB_READONLY, DB_BUSY_MS, &db, msg, sizeof(msg)) != ENMON_OK)
        return ENMON_OK; /* no database yet: nothing was active */
    sqlite3_stmt *s = NULL;
    int rc = ENMON_OK;
    if (sqlite3_prepare_v2(db,
                           "SELECT a.key, d.key, a.rule, a.cause, a.severity, a.value,"
                           " a.first_seen_ms, a.raised_ms FROM alerts a"
                           " JOIN devices d ON d.id = a.device_id WHERE a.cleared_ms IS NULL",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return ENMON_OK; /* a database from before alerts existed */
    }
    size_t cap = 0;
    int step;
    while (rc == ENMON_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
        rc = append_active(s, cfg, out, n, &cap);
    if (rc == ENMON_OK && step != SQLITE_DONE)
        rc = ENMON_ERR_DB;
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int alert_store_write_learned(sqlite3 *db, int64_t device_id, const struct alert_learned *l)
{
    char slots[ALERT_WELFARE_SLOTS * 48];
    if (alert_learned_format_slots(l, slots, sizeof(slots)) < 0)
        return ENMON_ERR_DB;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO alert_learned(device_id, rule, learn_ms,"
                           " learned_ms, mean_w, slots, saved_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_int64(s, 1, device_id);
    sqlite3_bind_text(s, 2, alert_rule_name(l->rule), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, l->learn_ms);
    sqlite3_bind_int64(s, 4, l->learned_ms);
    if (l->rule == ALERT_RULE_ABNORMAL_LOAD)
        sqlite3_bind_double(s, 5, l->mean_w);
    sqlite3_bind_text(s, 6, slots, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, l->saved_ms);
    return step_done(s);
}

/* One alert_learned row into out[*n] (left out when its device or rule is unknown). */
static int append_learned(sqlite3_stmt *s, const struct enmon_config *cfg,
                          struct alert_learned *out, size_t *n)
{
    const unsigned char *dev_key = sqlite3_column_text(s, 0);
    const unsigned char *rule_name = sqlite3_column_text(s, 1);
    const unsigned char *slots = sqlite3_column_text(s, 5);
    int dev = dev_key ? device_index(cfg, (const char *)dev_key) : -1;
    int rule = rule_name ? alert_rule_by_name((const char *)rule_name) : -1;
    if (dev < 0 || rule < 0 || !alert_learned_applies((enum alert_rule_id)rule))
        return 0;
    struct alert_learned *l = &out[*n];
    memset(l, 0, sizeof(*l));
    l->device = (uint32_t)dev;
    l->rule = (enum alert_rule_id)rule;
    l->learn_ms = sqlite3_column_int64(s, 2);
    l->learned_ms = sqlite3_column_int64(s, 3);
    l->mean_w = sqlite3_column_double(s, 4);
    l->saved_ms = sqlite3_column_int64(s, 6);
    if (alert_learned_parse_slots(slots ? (const char *)slots : "", l) != 0)
        return 0;
    (*n)++;
    return 1;
}

int alert_store_load_learned(const char *path, const struct enmon_config *cfg,
                             struct alert_learned **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3 *db = NULL;
    char msg[256];
    if (db_open(path, DB_READONLY, DB_BUSY_MS, &db, msg, sizeof(msg)) != ENMON_OK)
        return ENMON_OK; /* no database yet: nothing learned */
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT d.key, l.rule, l.learn_ms, l.learned_ms, l.mean_w, l.slots,"
                           " l.saved_ms FROM alert_learned l JOIN devices d ON d.id = l.device_id",
                           -1, &s, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return ENMON_OK; /* a database from before schema 6 */
    }
    int rc = ENMON_OK, step;
    size_t cap = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct alert_learned *bigger = realloc(*out, ncap * sizeof(**out));
            if (!bigger) {
                rc = ENMON_ERR_NOMEM;
                break;
            }
            *out = bigger;
            cap = ncap;
        }
        append_learned(s, cfg, *out, n);
    }
    if (rc == ENMON_OK && step != SQLITE_DONE)
        rc = ENMON_ERR_DB;
    sqlite3_finalize(s);
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(out, len, "%s", t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *s, struct alert_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    copy_col(s, 1, r->key, sizeof(r->key));
    copy_col(s, 2, r->device, sizeof(r->device));
    copy_col(s, 3, r->program, sizeof(r->program));
    copy_col(s, 4, r->site, sizeof(r->site));
    copy_col(s, 5, r->rule, sizeof(r->rule));
    copy_col(s, 6, r->cause, sizeof(r->cause));
    copy_col(s, 7, r->severity, sizeof(r->severity));
    r->has_value = sqlite3_column_type(s, 8) != SQLITE_NULL;
    r->value = sqlite3_column_double(s, 8);
    r->first_seen_ms = sqlite3_column_int64(s, 9);
    r->raised_ms = sqlite3_column_int64(s, 10);
    r->cleared_ms = sqlite3_column_int64(s, 11);
    copy_col(s, 12, r->acked_by, sizeof(r->acked_by));
    r->acked_ms = sqlite3_column_int64(s, 13);
    r->has_clear_value = sqlite3_column_type(s, 14) != SQLITE_NULL;
    r->clear_value = sqlite3_column_double(s, 14);
    copy_col(s, 15, r->clear_cause, sizeof(r->clear_cause));
}

int alert_store_list(sqlite3 *db, const struct alert_filter *f, alert_row_fn fn, void *ctx)
{
    sqlite3_stmt *s = NULL;
    const char *sql =
        "SELECT a.id, a.key, d.key, p.key, si.key, a.rule, a.cause, a.severity, a.value,"
        " a.first_seen_ms, a.raised_ms, a.cleared_ms, a.acked_by, a.acked_ms, a.clear_value,"
        " a.clear_cause FROM alerts a JOIN devices d ON d.id = a.device_id"
        " LEFT JOIN programs p ON p.id = d.program_id LEFT JOIN sites si ON si.id = d.site_id"
        " WHERE (?1 IS NULL OR p.key = ?1) AND (?2 IS NULL OR si.key = ?2)"
        " AND (?3 IS NULL OR d.key = ?3) AND (?4 IS NULL OR a.rule = ?4)"
        " AND (?5 = 0 OR a.raised_ms >= ?5) AND (?6 = 0 OR a.raised_ms < ?6)"
        " AND (?7 = 0 OR a.cleared_ms IS NULL) ORDER BY a.raised_ms DESC, a.id DESC";
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    const char *text[4] = {f->program, f->site, f->device, f->rule};
    for (int i = 0; i < 4; i++)
        if (text[i])
            sqlite3_bind_text(s, i + 1, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, f->from_ms);
    sqlite3_bind_int64(s, 6, f->to_ms);
    sqlite3_bind_int(s, 7, f->active_only);
    int rc;
    struct alert_row row;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_row(s, &row);
        fn(ctx, &row);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

/* The row of alert `which` (its numeric id, or the key of an active alert):
 * ENMON_OK, ENMON_ERR_NOT_FOUND or ENMON_ERR_DB. */
static int find_row(sqlite3 *db, const char *which, struct alert_row *out)
{
    sqlite3_stmt *s = NULL;
    char *end;
    long long id = strtoll(which, &end, 10);
    int numeric = *which && *end == '\0';
    const char *sql =
        "SELECT a.id, a.key, d.key, p.key, si.key, a.rule, a.cause, a.severity, a.value,"
        " a.first_seen_ms, a.raised_ms, a.cleared_ms, a.acked_by, a.acked_ms, a.clear_value,"
        " a.clear_cause FROM alerts a JOIN devices d ON d.id = a.device_id"
        " LEFT JOIN programs p ON p.id = d.program_id LEFT JOIN sites si ON si.id = d.site_id"
        " WHERE (?1 AND a.id = ?2) OR (NOT ?1 AND a.key = ?3 AND a.cleared_ms IS NULL)";
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_int(s, 1, numeric);
    sqlite3_bind_int64(s, 2, numeric ? id : 0);
    sqlite3_bind_text(s, 3, which, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        read_row(s, out);
    sqlite3_finalize(s);
    return step == SQLITE_ROW ? ENMON_OK : step == SQLITE_DONE ? ENMON_ERR_NOT_FOUND : ENMON_ERR_DB;
}

int alert_store_find(sqlite3 *db, const char *which, struct alert_row *out)
{
    return find_row(db, which, out);
}

int alert_store_ack(sqlite3 *db, const char *which, const char *who, int64_t now_ms,
                    struct alert_row *first)
{
    struct alert_row row;
    int rc = find_row(db, which, &row);
    if (rc != ENMON_OK)
        return rc;
    if (row.acked_by[0]) {
        if (first)
            *first = row;
        return ENMON_ERR_INVALID;
    }
    sqlite3_stmt *s = NULL;
    /* acked_by IS NULL: of two racing acknowledgements only the first is recorded */
    if (sqlite3_prepare_v2(db,
                           "UPDATE alerts SET acked_by = ?1, acked_ms = ?2 WHERE id = ?3"
                           " AND acked_by IS NULL",
                           -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_text(s, 1, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, row.id);
    rc = step_done(s);
    if (rc == ENMON_OK && sqlite3_changes(db) == 0) {
        if (find_row(db, which, &row) == ENMON_OK && first)
            *first = row;
        rc = ENMON_ERR_INVALID;
    }
    return rc;
}

/* Whether the config has a device with this key. */
static int configured(const struct enmon_config *cfg, const unsigned char *key)
{
    return key && device_index(cfg, (const char *)key) >= 0;
}

/* Closes every active row of devices not in cfg, calling fn for each. */
static int close_removed(sqlite3 *db, const struct enmon_config *cfg, int64_t now_ms,
                         alert_row_fn fn, void *ctx, size_t *n)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int rc = ENMON_OK, step;
    if (sqlite3_prepare_v2(
            db,
            "SELECT a.id, a.key, d.key, p.key, si.key, a.rule, a.cause, a.severity, a.value,"
            " a.first_seen_ms, a.raised_ms, a.cleared_ms, a.acked_by, a.acked_ms, a.clear_value,"
            " a.clear_cause FROM alerts a JOIN devices d ON d.id = a.device_id"
            " LEFT JOIN programs p ON p.id = d.program_id LEFT JOIN sites si ON si.id = d.site_id"
            " WHERE a.cleared_ms IS NULL ORDER BY a.id",
            -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE alerts SET cleared_ms = ?1, clear_cause = ?2 WHERE id = ?3",
                           -1, &upd, NULL) != SQLITE_OK) {
        sqlite3_finalize(sel);
        return ENMON_ERR_DB;
    }
    while (rc == ENMON_OK && (step = sqlite3_step(sel)) == SQLITE_ROW) {
        if (configured(cfg, sqlite3_column_text(sel, 2)))
            continue;
        struct alert_row row;
        read_row(sel, &row);
        sqlite3_bind_int64(upd, 1, now_ms);
        sqlite3_bind_text(upd, 2, ALERT_CAUSE_REMOVED, -1, SQLITE_STATIC);
        sqlite3_bind_int64(upd, 3, row.id);
        if (sqlite3_step(upd) != SQLITE_DONE)
            rc = ENMON_ERR_DB;
        sqlite3_reset(upd);
        row.cleared_ms = now_ms;
        snprintf(row.clear_cause, sizeof(row.clear_cause), "%s", ALERT_CAUSE_REMOVED);
        if (rc == ENMON_OK && fn)
            fn(ctx, &row);
        (*n)++;
    }
    if (rc == ENMON_OK && step != SQLITE_DONE)
        rc = ENMON_ERR_DB;
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}

int alert_store_clear_removed(const char *path, const struct enmon_config *cfg, int64_t now_ms,
                              alert_row_fn fn, void *ctx, size_t *n)
{
    size_t count = 0;
    sqlite3 *db = NULL;
    char msg[256];
    if (n)
        *n = 0;
    if (db_open(path, DB_READWRITE, DB_BUSY_MS, &db, msg, sizeof(msg)) != ENMON_OK)
        return ENMON_OK; /* no database yet: nothing was active */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return ENMON_ERR_DB;
    }
    int rc = close_removed(db, cfg, now_ms, fn, ctx, &count);
    if (rc == ENMON_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = ENMON_ERR_DB;
    if (rc != ENMON_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        count = 0;
    }
    sqlite3_close(db);
    if (n)
        *n = count;
    return rc;
}
