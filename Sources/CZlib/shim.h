#include <zlib.h>

// inflateInit2 is a macro, which Swift cannot call; this wrapper passes the version and
// struct size the macro would.
static inline int quiver_inflateInit2(z_stream *stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
