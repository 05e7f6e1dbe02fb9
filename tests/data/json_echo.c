/* Test harness for the compiled launcher's JSON reader (backends/native/launch/
 * compiled/json.c): reads a document on stdin and writes it back as JSON (the
 * decoded strings as UTF-8, numbers as integers or %.17g), or exits 1 with the
 * reader's message. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);                                          /* UTF-8 as it was decoded */
    }
    putchar('"');
}

static void put(const struct json *v)
{
    switch (v->type) {
    case JSON_NULL: fputs("null", stdout); break;
    case JSON_BOOL: fputs(v->boolean ? "true" : "false", stdout); break;
    case JSON_NUMBER:
        if (v->integral) printf("%lld", v->integer);
        else printf("%.17g", v->number);
        break;
    case JSON_STRING: put_string(v->string); break;
    case JSON_ARRAY:
        putchar('[');
        for (size_t i = 0; i < v->count; i++) {
            if (i) putchar(',');
            put(v->items[i]);
        }
        putchar(']');
        break;
    case JSON_OBJECT:
        putchar('{');
        for (size_t i = 0; i < v->count; i++) {
            if (i) putchar(',');
            put_string(v->keys[i]);
            putchar(':');
            put(v->items[i]);
        }
        putchar('}');
        break;
    }
}

int main(void)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t r; (r = fread(buf + n, 1, cap - n, stdin)) > 0;) {
        n += r;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    char err[128];
    struct json *v = json_parse(buf, n, err, sizeof err);
    if (!v) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    put(v);
    putchar('\n');
    return 0;
}
