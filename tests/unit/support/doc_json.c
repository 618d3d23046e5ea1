/* doc_json.c -- whether a doc's ```json example equals a string the code produced. */
#include "doc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int doc_has_json(const char *doc, const char *want)
{
    char path[1024];
    const char *data = getenv("ENMON_TEST_DATA");
    if (!data || snprintf(path, sizeof(path), "%s/../../docs/%s", data, doc) >= (int)sizeof(path))
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024], block[8192] = "";
    int in = 0, found = 0;
    while (found >= 0 && fgets(line, sizeof(line), f)) {
        if (!strchr(line, '\n') && !feof(f))
            found = -1; /* a line longer than the buffer */
        line[strcspn(line, "\n")] = '\0';
        if (!in && strcmp(line, "```json") == 0) {
            in = 1;
            block[0] = '\0';
        } else if (in && strcmp(line, "```") == 0) {
            in = 0;
            if (strcmp(block, want) == 0)
                found = 1;
        } else if (in) {
            const char *add = line + (line[0] == ' ');
            if (strlen(block) + strlen(add) >= sizeof(block))
                found = -1;
            else
                strcat(block, add);
        }
    }
    if (ferror(f))
        found = -1;
    fclose(f);
    return found;
}
