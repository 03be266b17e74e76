/* The skbox_dir_AAAAA record files: record B, at offset B*128, names the UNIX
 * socket a magic bind to [fe8f::M:A:B]:P becomes. The reader is bounded (one pread of one
 * record, from a regular file only) and refuses anything that is not a well-formed record. */
#ifndef SKBOX_PRELOAD_RECORD_FILE_H
#define SKBOX_PRELOAD_RECORD_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

/* Size of one record; the first sizeof(sun_path) bytes are used. */
#define SKBOX_RECORD_SIZE 128
/* Bytes of a record that are read: sun_path. */
#define SKBOX_RECORD_READ ((size_t)sizeof(((struct sockaddr_un *)0)->sun_path))

/* Checks the GOT bytes read for one record (SKBOX_RECORD_READ, fewer where the file ends
 * inside the record) and copies its path, with its NUL, to PATH (SKBOX_RECORD_READ bytes,
 * zero-filled first). A record is a path of 1..107 bytes without control characters,
 * followed by a NUL. Returns 0, or -1 with errno and *WHY (what is wrong, for a message):
 *   ERANGE         nothing to read (past the end of the file), or cut off by the end
 *   EADDRNOTAVAIL  the record is empty
 *   ENAMETOOLONG   no NUL within sun_path: the path would not fit with its terminator
 *   EINVAL         a control character (a text file, binary junk) */
int skbox_parse_record(const char *bytes, size_t got, char *path, const char **why);

/* Reads record SLOT of ROOT/skbox_dir_GROUP (the file's name goes to FILE, FILE_SIZE bytes,
 * for messages) and parses it into PATH as above. The file is opened non-blocking, so a FIFO
 * put there cannot hang the caller, and must be a regular file (else EINVAL); an open that
 * fails keeps its errno (ENOENT, EACCES...). */
int skbox_read_record(const char *root, uint16_t group, uint16_t slot, char *path, char *file, size_t file_size,
                      const char **why);

#endif
