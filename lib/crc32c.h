/* crc32c.h - CRC-32C (Castagnoli), the checksum of spool records. */
#ifndef HVT_CRC32C_H
#define HVT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t hvt_crc32c(uint32_t crc, const void *data, size_t len);
/* The table version, always (the unit test checks both agree). */
uint32_t hvt_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
