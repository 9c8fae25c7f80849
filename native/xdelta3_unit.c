/* The one translation unit of the vendored xdelta3, and of the glue that needs its private types. */
#include "config.h"
#include "xdelta3.c"
#include "dg_sec_choice.h"
