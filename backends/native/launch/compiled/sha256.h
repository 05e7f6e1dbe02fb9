/* SHA-256 (FIPS 180-4), for the freshness stamps of compiled seccomp filters. */
#ifndef CONFINE_SHA256_H
#define CONFINE_SHA256_H

#include <stddef.h>

/* The lowercase hex digest of data[0..len) into hex (65 bytes, NUL-terminated). */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
