/* fuzz_import.c -- libFuzzer target: the CSV import's line and time parsers on arbitrary text. */
#include "caltime.h"
#include "import.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds every line of the input to import_parse_line, as the importer does. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        struct import_line out;
        char why[128];
        int64_t t;
        import_parse_line(line, 540, &out, why, sizeof(why));
        caltime_parse_datetime(line, -300, &t);
    }
    free(text);
    return 0;
}
