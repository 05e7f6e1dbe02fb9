/* See json.h. Recursive descent with a depth limit; allocation never freed
 * (the launcher reads two small documents and then execs). */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct reader {
    const char *p, *end;
    char *err;
    size_t errlen;
    int depth;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("confine-launch: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static struct json *fail(struct reader *r, const char *what)
{
    if (r->err && !r->err[0])
        snprintf(r->err, r->errlen, "%s", what);
    return NULL;
}

static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static char *read_string(struct reader *r)
{
    /* r->p is at the opening quote; decoded text is never longer than the source */
    const char *s = ++r->p;
    const char *q = s;
    while (q < r->end && *q != '"') {
        if (*q == '\\' && q + 1 < r->end) q++;
        q++;
    }
    if (q >= r->end) { fail(r, "unterminated string"); return NULL; }
    char *out = xcalloc((size_t)(q - s) + 1, 1), *o = out;
    while (r->p < q) {
        unsigned char c = (unsigned char)*r->p++;
        if (c < 0x20) { fail(r, "control character in a string"); return NULL; }
        if (c != '\\') { *o++ = (char)c; continue; }
        char e = *r->p++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - r->p < 4 || !hex4(r->p, &cp)) { fail(r, "bad \\u escape"); return NULL; }
            r->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (q - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || !hex4(r->p + 2, &lo)
                    || lo < 0xDC00 || lo > 0xDFFF) { fail(r, "lone surrogate"); return NULL; }
                r->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                fail(r, "lone surrogate"); return NULL;
            }
            if (cp == 0) { fail(r, "NUL in a string"); return NULL; }
            o += put_utf8(o, cp);
            break;
        }
        default: fail(r, "bad escape"); return NULL;
        }
    }
    *o = 0;
    r->p = q + 1;
    return out;
}

static struct json *read_value(struct reader *r);

static struct json *read_number(struct reader *r)
{
    const char *s = r->p;
    int integral = 1;
    if (r->p < r->end && *r->p == '-') r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "bad number");
    if (*r->p == '0') r->p++;
    else while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    if (r->p < r->end && *r->p == '.') {
        integral = 0;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "bad number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        integral = 0;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9') return fail(r, "bad number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    }
    char buf[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof buf) return fail(r, "number too long");
    memcpy(buf, s, n);
    buf[n] = 0;
    struct json *v = xcalloc(1, sizeof *v);
    v->type = JSON_NUMBER;
    v->number = strtod(buf, NULL);
    if (integral && n < 19) {
        v->integral = 1;
        v->integer = strtoll(buf, NULL, 10);
    }
    return v;
}

static int literal(struct reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return 0;
    r->p += n;
    return 1;
}

static struct json *read_container(struct reader *r, int object)
{
    char close = object ? '}' : ']';
    size_t cap = 8, n = 0;
    struct json **items = xcalloc(cap, sizeof *items);
    char **keys = object ? xcalloc(cap, sizeof *keys) : NULL;
    if (++r->depth > MAX_DEPTH) return fail(r, "nested too deeply");
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
    } else {
        for (;;) {
            char *key = NULL;
            skip_ws(r);
            if (object) {
                if (r->p >= r->end || *r->p != '"') return fail(r, "expected a key");
                if (!(key = read_string(r))) return NULL;
                skip_ws(r);
                if (r->p >= r->end || *r->p != ':') return fail(r, "expected ':'");
                r->p++;
            }
            struct json *v = read_value(r);
            if (!v) return NULL;
            if (n == cap) {
                cap *= 2;
                items = realloc(items, cap * sizeof *items);
                if (object) keys = realloc(keys, cap * sizeof *keys);
                if (!items || (object && !keys)) return fail(r, "out of memory");
            }
            items[n] = v;
            if (object) keys[n] = key;
            n++;
            skip_ws(r);
            if (r->p < r->end && *r->p == ',') { r->p++; continue; }
            if (r->p < r->end && *r->p == close) { r->p++; break; }
            return fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    r->depth--;
    struct json *v = xcalloc(1, sizeof *v);
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    v->count = n;
    v->items = items;
    v->keys = keys;
    return v;
}

static struct json *read_value(struct reader *r)
{
    skip_ws(r);
    if (r->p >= r->end) return fail(r, "unexpected end");
    char c = *r->p;
    if (c == '{') return read_container(r, 1);
    if (c == '[') return read_container(r, 0);
    if (c == '"') {
        char *s = read_string(r);
        if (!s) return NULL;
        struct json *v = xcalloc(1, sizeof *v);
        v->type = JSON_STRING;
        v->string = s;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return read_number(r);
    struct json *v = xcalloc(1, sizeof *v);
    if (literal(r, "true")) { v->type = JSON_BOOL; v->boolean = 1; return v; }
    if (literal(r, "false")) { v->type = JSON_BOOL; return v; }
    if (literal(r, "null")) { v->type = JSON_NULL; return v; }
    return fail(r, "unexpected character");
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct reader r = { text, text + len, err, errlen, 0 };
    if (err && errlen) err[0] = 0;
    struct json *v = read_value(&r);
    if (!v) {
        if (err && errlen && !err[0]) snprintf(err, errlen, "not JSON");
        return NULL;
    }
    skip_ws(&r);
    if (r.p != r.end) return fail(&r, "extra data after the document");
    return v;
}

const struct json *json_get(const struct json *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

const char *json_get_str(const struct json *obj, const char *key)
{
    const struct json *v = json_get(obj, key);
    return v && v->type == JSON_STRING ? v->string : NULL;
}

int json_get_int(const struct json *obj, const char *key, long long *out)
{
    const struct json *v = json_get(obj, key);
    if (!v || v->type != JSON_NUMBER || !v->integral) return 0;
    *out = v->integer;
    return 1;
}

int json_truthy(const struct json *v)
{
    if (!v) return 0;
    switch (v->type) {
    case JSON_NULL: return 0;
    case JSON_BOOL: return v->boolean;
    case JSON_NUMBER: return v->number != 0;
    case JSON_STRING: return v->string[0] != 0;
    default: return v->count != 0;
    }
}

const struct json *json_at(const struct json *arr, size_t i)
{
    if (!arr || arr->type != JSON_ARRAY || i >= arr->count) return NULL;
    return arr->items[i];
}

size_t json_len(const struct json *v)
{
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->count : 0;
}
