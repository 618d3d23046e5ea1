/* sim_map.h -- register images of a non-SunSpec device served through a register map. */
#ifndef ENMON_SIM_MAP_H
#define ENMON_SIM_MAP_H

#include "regmap.h"
#include "sim_sunspec.h"

#include <stdint.h>

/* Registers the map's points of kind (enum regmap_kind) occupy: from 0 to the
 * end of the highest point or scale register (0 when the kind is unused). */
uint32_t sim_map_extent(const struct regmap *m, int kind);

/* The value a measurement (enum meas) takes in val; 0 for unknown ones. Pure. */
double sim_map_meas_value(const struct sim_values *val, int meas);

/* Encodes value into the point's registers at words (point->length of them):
 * inverse of its scale and offset (raw x 10^sf when has_sf), rounded and
 * saturated for integer types, in the point's type and word order. Pure. */
void sim_map_encode(uint16_t *words, const struct regmap_point *p, double value, int sf);

/* Rebuilds the holding and input images (allocated with the extents above,
 * base 0): every register 0, then every point: its measurement's value (0 for
 * points without one), string points the serial. Scale registers get the
 * power of ten that carries their points exactly. */
void sim_map_build(struct sim_image *holding, struct sim_image *input, const struct regmap *m,
                   const struct sim_values *val, const char *serial);

#endif
