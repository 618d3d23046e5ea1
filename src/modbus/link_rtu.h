/* link_rtu.h -- Modbus RTU transport of a link: a serial bus through libmodbus. */
#ifndef ENMON_LINK_RTU_H
#define ENMON_LINK_RTU_H

#include "link.h"

/* The RTU backend. libmodbus opens the port with O_NOCTTY and checks CRC and
 * slave id; a timeout or a garbled reply flushes the port. */
extern const struct link_backend link_rtu_backend;

#endif
