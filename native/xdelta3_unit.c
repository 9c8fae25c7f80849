#include "config.h"
#include "xdelta3.c"
