/* doc_json.h -- whether a doc's ```json example equals a string the code produced. */
#ifndef ENMON_TEST_DOC_JSON_H
#define ENMON_TEST_DOC_JSON_H

/* 1 when docs/<doc> (found from $ENMON_TEST_DATA/../../docs) has a ```json block whose lines,
 * joined with one leading space of each dropped, equal want; 0 when none does; -1 when the doc
 * cannot be read or a block is longer than the reader takes (fails closed). */
int doc_has_json(const char *doc, const char *want);

#endif
