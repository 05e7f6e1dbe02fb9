/* A small JSON reader for the launch plan and the Landlock rules: the whole
 * document into a tree of nodes, read-only afterwards. Strings are decoded
 * (escapes, \u with surrogate pairs, to UTF-8); a string holding NUL is refused,
 * since every string here becomes a path, an argument or a variable. */
#ifndef CONFINE_JSON_H
#define CONFINE_JSON_H

#include <stddef.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    int boolean;
    double number;
    int integral;              /* the number had no fraction nor exponent */
    long long integer;
    char *string;              /* JSON_STRING: NUL-terminated UTF-8 */
    size_t count;              /* JSON_ARRAY, JSON_OBJECT: items */
    struct json **items;       /* JSON_ARRAY: values; JSON_OBJECT: values, in order */
    char **keys;               /* JSON_OBJECT: the keys, parallel to items */
};

/* Parse `text` (len bytes). NULL on error, with a message in `err` (size errlen). */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);

/* The member `key` of an object, or NULL (also when `obj` is not an object). */
const struct json *json_get(const struct json *obj, const char *key);
/* The string value of member `key`, or NULL when absent or not a string. */
const char *json_get_str(const struct json *obj, const char *key);
/* Member `key` as an integer: *out set and 1 returned when it is an integral number. */
int json_get_int(const struct json *obj, const char *key, long long *out);
/* Whether member `key` is present and truthy (true, a non-empty string/array/object, a non-zero number). */
int json_truthy(const struct json *value);
/* Item i of an array, or NULL. */
const struct json *json_at(const struct json *arr, size_t i);
/* The number of items of an array or object (0 for anything else, NULL included). */
size_t json_len(const struct json *value);

#endif
