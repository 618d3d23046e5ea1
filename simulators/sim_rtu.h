/* sim_rtu.h -- Modbus RTU framing: CRC16, request lengths, replies (pure: bytes in, bytes out). */
#ifndef ENMON_SIM_RTU_H
#define ENMON_SIM_RTU_H

#include "sim_modbus.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_RTU_ADU_MAX 256 /* slave id + 253-byte PDU + CRC */

/* Modbus CRC16 (polynomial 0xA001 reflected, initial 0xFFFF); sent low byte first. */
uint16_t sim_rtu_crc16(const uint8_t *buf, size_t len);

/* Length of the request frame starting at buf, from its function code: the
 * length when len bytes are enough to know it, 0 when more bytes are needed,
 * -1 when the function has no known request length (the frame then ends with
 * 3.5 characters of silence). */
int sim_rtu_frame_len(const uint8_t *buf, size_t len);

/* Answers one complete RTU frame into out (SIM_RTU_ADU_MAX bytes). Returns the
 * reply length, or 0 when no reply is due, as on a real bus: a bad CRC, a frame
 * too short, the broadcast address 0, a unit with no device, a silent device, a
 * malformed PDU. A garbage unit answers its slave id and function, a byte
 * count fitting the request, random data and a wrong CRC. *delay_ms: how late
 * to send the reply. */
int sim_rtu_reply(const uint8_t *req, size_t len, sim_mb_lookup lookup, void *ctx, uint8_t *out,
                  unsigned *delay_ms);

#endif
