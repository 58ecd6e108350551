// PCRE2 with 8-bit code units (UTF-8). The library's generic names (pcre2_compile, …) are
// macros Swift cannot import; Swift calls the `_8` functions they expand to.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
